// Small display helpers shared by the views.
const LEVELS = ['province', 'city', 'county', 'street', 'community', 'grid']

// The API may give an area level as a name ("grid") or as its number (1 = province .. 6 = grid).
export function levelKey(level) {
  if (typeof level === 'number') return LEVELS[level - 1] || String(level)
  if (/^\d+$/.test(String(level ?? ''))) return LEVELS[Number(level) - 1] || String(level)
  return String(level ?? '')
}

export function isGrid(level) {
  return levelKey(level) === 'grid'
}

// The deployment's time zone as minutes east of UTC (from /api/auth/me, default Asia/Shanghai):
// instants are shown, and dates picked, in the deployment's local time, not the browser's.
let offsetMinutes = 480

export function setDeploymentOffset(minutes) {
  if (Number.isFinite(minutes)) offsetMinutes = minutes
}

const p2 = (n) => String(n).padStart(2, '0')

// An instant (ms) shifted so that its UTC fields are the deployment's wall clock.
function wall(ms) {
  return new Date(ms + offsetMinutes * 60000)
}

export function formatTime(iso) {
  if (!iso) return ''
  const t = new Date(iso).getTime()
  if (Number.isNaN(t)) return iso
  const d = wall(t)
  return `${d.getUTCFullYear()}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`
}

// Today in the deployment's time zone, "YYYY-MM-DD".
export function localToday(nowMs = Date.now()) {
  const d = wall(nowMs)
  return `${d.getUTCFullYear()}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())}`
}

// Date pickers work in the browser's zone: a picked Date's local fields are read as the
// deployment's wall clock and turned into an ISO 8601 UTC instant.
export function pickedToIso(date) {
  const d = new Date(date)
  const ms = Date.UTC(d.getFullYear(), d.getMonth(), d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds())
  return new Date(ms - offsetMinutes * 60000).toISOString()
}

// The Date to preset a picker with so that it shows the deployment's wall clock at `ms`.
export function instantToPicked(ms = Date.now()) {
  const d = wall(ms)
  return new Date(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds())
}

export function formatNumber(n) {
  if (n === undefined || n === null) return ''
  return Number(n).toLocaleString()
}
