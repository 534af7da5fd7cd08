// Console strings: Simplified Chinese by default, English on request; the choice is kept in
// localStorage. Element Plus follows through <el-config-provider> in App.vue.
import { createI18n } from 'vue-i18n'
import zhCN from './locales/zh-CN.json'
import en from './locales/en.json'

export const LOCALE_KEY = 'bihuan.locale'
export const LOCALES = [
  { code: 'zh-CN', label: '简体中文' },
  { code: 'en', label: 'English' },
]

function initialLocale() {
  try {
    const saved = localStorage.getItem(LOCALE_KEY)
    if (saved && LOCALES.some((l) => l.code === saved)) return saved
  } catch {
    // storage unavailable (private mode): fall back to Chinese
  }
  return 'zh-CN'
}

export const i18n = createI18n({
  legacy: false,
  locale: initialLocale(),
  fallbackLocale: 'zh-CN',
  messages: { 'zh-CN': zhCN, en },
})

export function setLocale(code) {
  i18n.global.locale.value = code
  document.documentElement.lang = code
  try {
    localStorage.setItem(LOCALE_KEY, code)
  } catch {
    // ignore: the choice then lasts for this page only
  }
}
