import { createApp } from 'vue'
import { createPinia } from 'pinia'
import ElementPlus from 'element-plus'
import 'element-plus/dist/index.css'
import * as Icons from '@element-plus/icons-vue'

import App from './App.vue'
import { i18n } from './i18n'
import { router } from './router'
import { setUnauthenticatedHandler } from './api'
import { useAuth } from './stores/auth'
import './style.css'

const app = createApp(App)
const pinia = createPinia()
app.use(pinia)
app.use(i18n)
app.use(router)
app.use(ElementPlus)
for (const [name, comp] of Object.entries(Icons)) app.component(`Icon${name}`, comp)

// Any 401 outside the login call: forget the session and show the login page.
setUnauthenticatedHandler(() => {
  useAuth(pinia).clear()
  const current = router.currentRoute.value
  if (current.name !== 'login') {
    router.push({ name: 'login', query: current.fullPath && current.fullPath !== '/' ? { redirect: current.fullPath } : {} })
  }
})

document.documentElement.lang = i18n.global.locale.value
app.mount('#app')
