import { defineStore } from 'pinia'
import { api } from '../api'
import { setDeploymentOffset } from '../utils/format'

function adopt(me) {
  if (me) setDeploymentOffset(me.utc_offset_minutes)
  return me
}

export const useAuth = defineStore('auth', {
  state: () => ({ me: null, loaded: false }),
  getters: {
    loggedIn: (s) => !!s.me,
    permissions: (s) => new Set(s.me?.permissions || []),
  },
  actions: {
    can(perm) {
      return this.permissions.has(perm)
    },
    async load() {
      try {
        this.me = adopt(await api('/auth/me', { allow401: true }))
      } catch (e) {
        this.me = null
        if (e.status !== 401) throw e
      } finally {
        this.loaded = true
      }
      return this.me
    },
    async login(username, password) {
      const res = await api('/auth/login', { method: 'POST', json: { username, password }, allow401: true })
      // The login answer carries the user; reload /me for the full permission list when absent.
      this.me = adopt(res?.user?.time_zone ? res.user : await api('/auth/me'))
      this.loaded = true
    },
    async logout() {
      try {
        await api('/auth/logout', { method: 'POST', allow401: true })
      } finally {
        this.clear()
      }
    },
    clear() {
      this.me = null
      this.loaded = true
    },
  },
})
