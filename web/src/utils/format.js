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

export function formatTime(iso) {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  const p = (n) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
}

export function formatNumber(n) {
  if (n === undefined || n === null) return ''
  return Number(n).toLocaleString()
}
