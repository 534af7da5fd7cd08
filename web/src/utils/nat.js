// Nucleic-acid testing helpers shared by the testing pages (docs/API-testing.md): ratios,
// status tags, translated names and the pool-prevalence estimate.
import { i18n } from '../i18n'

export const RATIOS = [1, 5, 10, 20]
export const EXCLUSION_REASONS = ['away', 'bedridden', 'moved_in', 'moved_out', 'deceased', 'tested_elsewhere', 'other']
// Coverage levels: the length of the area codes of the rows.
export const LEVELS = [
  { len: 9, key: 'street' },
  { len: 12, key: 'community' },
  { len: 15, key: 'grid' },
]

function tr(prefix, key) {
  if (!key) return ''
  const k = `${prefix}.${key}`
  return i18n.global.te(k) ? i18n.global.t(k) : key
}
export const tubeStatusName = (s) => tr('nat.tubeStatus', s)
export const boxStatusName = (s) => tr('nat.boxStatus', s)
export const resultName = (r) => tr('nat.result', r)
export const natAlertKindName = (k) => tr('nat.alertKind', k)
export const taskKindName = (k) => tr('nat.taskKind', k)
export const taskStatusName = (s) => tr('nat.taskStatus', s)
export const roundStatusName = (s) => tr('nat.roundStatus', s)
export const exclusionName = (r) => tr('nat.exclusion', r)

export function resultTagType(r) {
  return { negative: 'success', positive: 'danger', inconclusive: 'warning' }[r] || 'info'
}
export function boxTagType(s) {
  return { open: 'info', sealed: 'warning', in_transit: 'primary', received: 'success' }[s] || 'info'
}

export function percent(part, whole) {
  if (!whole) return 0
  return Math.min(100, Math.round((1000 * part) / whole) / 10)
}

// The residents a coverage row expects: `expected` already leaves the excluded out (the server
// counts them apart in `excluded`).
export function denominator(row) {
  return Math.max(0, Number(row?.expected || 0))
}

// The share of people positive, estimated from pooled results: `positive` counts every member
// of a positive pool, so positive/resulted is the share of positive pools q (pools of equal
// size k), and a person is negative only when the whole pool is: p = 1 - (1 - q)^(1/k).
export function estimatePrevalence(positive, resulted, ratio) {
  if (!resulted) return 0
  const q = Math.min(1, Math.max(0, positive / resulted))
  const k = Math.max(1, Number(ratio) || 1)
  return 1 - Math.pow(1 - q, 1 / k)
}
