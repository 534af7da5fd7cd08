// Closed-loop helpers shared by the loop pages (docs/API-loop.md): stage order and the allowed
// transitions (the same edges as src/core/loop.cpp), owners, colours and severities.
import { i18n } from '../i18n'

export const STAGES = [
  'port_screening',
  'transfer',
  'quarantine_site',
  'hospital',
  'destination_transfer',
  'destination_community',
  'home_isolation',
  'home_monitoring',
  'released',
]

const EDGES = {
  port_screening: ['transfer', 'hospital'],
  transfer: ['quarantine_site', 'hospital'],
  quarantine_site: ['hospital', 'destination_transfer', 'released'],
  hospital: ['quarantine_site', 'destination_transfer', 'released'],
  destination_transfer: ['destination_community'],
  destination_community: ['home_isolation', 'home_monitoring', 'released'],
  home_isolation: ['home_monitoring', 'hospital', 'transfer', 'released'],
  home_monitoring: ['hospital', 'transfer', 'released'],
  released: [],
}

// Stages an order in `stage` may be handed over to (release is its own action, not a handover).
// The server's own list (OrderDetail.allowed_next) wins when it sends one.
// A step between two area-owned stages (destination community → home isolation or home
// monitoring, home isolation → home monitoring) stays with the same grid: it is a move
// (POST /api/loop/orders/{id}/move), not a handover.
export function handoverTargets(stage, allowedNext) {
  const list = Array.isArray(allowedNext) ? allowedNext : EDGES[stage] || []
  return list.filter((s) => s !== 'released' && !(isAreaStage(stage) && isAreaStage(s)))
}
export function moveTargets(stage, allowedNext) {
  const list = Array.isArray(allowedNext) ? allowedNext : EDGES[stage] || []
  return list.filter((s) => s !== 'released' && isAreaStage(stage) && isAreaStage(s))
}
function isAreaStage(s) {
  return s !== 'released' && !ORG_STAGES.has(s)
}

// Stages owned by an organisation; the others belong to an area (community or grid).
const ORG_STAGES = new Set(['port_screening', 'transfer', 'quarantine_site', 'hospital', 'destination_transfer'])
export function orgOwned(stage) {
  return ORG_STAGES.has(stage)
}
// The organisation kind that receives an order in a stage (for GET /api/orgs?kind=).
export function orgKindFor(stage) {
  return { port_screening: 'port', transfer: 'transfer_team', destination_transfer: 'transfer_team', quarantine_site: 'quarantine_site', hospital: 'hospital' }[stage] || ''
}

export const GROUPS = [
  'inbound',
  'close_contact',
  'secondary_contact',
  'high_risk_area_arrival',
  'medium_risk_area_arrival',
  'low_risk_area_arrival',
  'high_risk_post',
]

function tr(prefix, key) {
  if (!key) return ''
  const k = `${prefix}.${key}`
  return i18n.global.te(k) ? i18n.global.t(k) : key
}
export const stageName = (s) => tr('stage', s)
export const groupName = (g) => tr('group', g)
export const measureName = (m) => tr('measure', m)
export const colourName = (c) => tr('colour', c)
export const severityName = (s) => tr('severity', s)
export const alertKindName = (k) => tr('alertKind', k)

// "{kind:'org',org_id:3}" → the name the server gave, else "#3" / the area code.
export function ownerText(owner, name) {
  if (name) return name
  if (!owner) return ''
  if (owner.kind === 'org') return owner.owner_name || owner.name || `#${owner.org_id}`
  return owner.area_name || owner.area_code || ''
}
export function ownerKey(owner) {
  if (!owner) return ''
  return owner.kind === 'org' ? `org:${owner.org_id}` : `area:${owner.area_code}`
}

export const COLOURS = { green: '#18a058', yellow: '#f0a020', red: '#d03050' }
export function colourTagType(c) {
  return { green: 'success', yellow: 'warning', red: 'danger' }[c] || 'info'
}
export function severityTagType(s) {
  return { low: 'info', medium: 'warning', high: 'danger', critical: 'danger' }[s] || 'info'
}
export function stageTagType(s) {
  if (s === 'released') return 'success'
  if (s === 'hospital') return 'danger'
  if (s === 'quarantine_site' || s === 'home_isolation') return 'warning'
  return 'primary'
}

export function formatDate(d) {
  if (!d) return ''
  return String(d).slice(0, 10)
}
