// The portal's reads: GET /api/public/... only. An error carries the HTTP status (404 = nothing
// published yet) and the server's message.
export class PublicError extends Error {
  constructor(status, message) {
    super(message || `HTTP ${status}`)
    this.status = status
  }
}

export async function get(path, query = {}) {
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.append(k, String(v))
  const qs = params.toString()
  let res
  try {
    res = await fetch(`/api/public${path}${qs ? `?${qs}` : ''}`, { headers: { Accept: 'application/json' } })
  } catch {
    throw new PublicError(0, 'network')
  }
  const data = await res.json().catch(() => null)
  if (!res.ok) throw new PublicError(res.status, data?.message)
  return data
}

// "central_quarantine, 7 days, tests on days 1, 2, 3, 5, 7" in the reader's language.
export function phaseText(t, p) {
  const days = (p.test_days || []).join(t('comma'))
  return t('phase', { measure: t(`measures.${p.measure}`), days: p.days, tests: days || t('none') })
}
