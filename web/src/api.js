// Thin fetch wrapper for the bihuan HTTP API (docs/API.md): same origin, cookie session.
// Any 401 outside the login call sends the user to the login page.
import { i18n } from './i18n'

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `HTTP ${status}`)
    this.status = status
    this.code = body?.code || (status === 0 ? 'network' : 'internal')
    this.field = body?.field || ''
    this.serverMessage = body?.message || ''
    this.body = body || null // the whole answer, for endpoints that explain a refusal (release 409)
  }
}

let onUnauthenticated = () => {}
export function setUnauthenticatedHandler(fn) {
  onUnauthenticated = fn
}

function buildQuery(query) {
  if (!query) return ''
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue
    params.append(k, String(v))
  }
  const s = params.toString()
  return s ? `?${s}` : ''
}

// options: method, query, json (object body), body (raw body), headers, allow401 (no redirect)
export async function api(path, options = {}) {
  const { method = 'GET', query, json, body, headers = {}, allow401 = false } = options
  const init = { method, headers: { Accept: 'application/json', ...headers }, credentials: 'same-origin' }
  if (json !== undefined) {
    init.body = JSON.stringify(json)
    init.headers['Content-Type'] = 'application/json'
  } else if (body !== undefined) {
    init.body = body
  }
  let res
  try {
    res = await fetch(`/api${path}${buildQuery(query)}`, init)
  } catch {
    throw new ApiError(0, null)
  }
  const text = await res.text()
  let data = null
  if (text) {
    try {
      data = JSON.parse(text)
    } catch {
      data = { message: text.slice(0, 200) }
    }
  }
  if (!res.ok) {
    const err = new ApiError(res.status, data)
    if (res.status === 401 && !allow401) onUnauthenticated()
    throw err
  }
  return data
}

// A message for the user: the translated code, plus the server's own detail when useful.
export function errorText(err) {
  const t = i18n.global.t
  if (!(err instanceof ApiError)) return String(err?.message || err)
  const key = `errors.${err.code}`
  let text = i18n.global.te(key) ? t(key) : err.serverMessage || err.message
  if (err.serverMessage && err.code !== 'not_found' && err.code !== 'unauthenticated' && err.code !== 'network') {
    text += `：${err.serverMessage}`
  }
  if (err.field) text += `（${t('errors.field', { field: err.field })}）`
  return text
}
