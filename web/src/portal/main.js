// The public portal (公众服务): no login, phone first, Chinese by default with an English switch.
// A page of its own (portal.html, served for /p/...) without Element Plus or the console's code,
// so that it paints fast on a phone; it reads only /api/public/... (nothing personal).
import { createApp } from 'vue'
import { createI18n } from 'vue-i18n'
import { createRouter, createWebHistory } from 'vue-router'
import Portal from './Portal.vue'
import HomeView from './views/HomeView.vue'
import zh from './locales/zh-CN.json'
import en from './locales/en.json'
import './portal.css'

const KEY = 'bihuan.portal.lang'
const asked = new URLSearchParams(window.location.search).get('lang')
const saved = asked === 'en' || asked === 'zh-CN' ? asked : localStorage.getItem(KEY)
export const i18n = createI18n({
  legacy: false,
  locale: saved === 'en' ? 'en' : 'zh-CN',
  fallbackLocale: 'zh-CN',
  messages: { 'zh-CN': zh, en },
})

export function setLang(lang) {
  i18n.global.locale.value = lang
  localStorage.setItem(KEY, lang)
  document.documentElement.lang = lang
}

const router = createRouter({
  history: createWebHistory('/p/'),
  routes: [
    { path: '/', name: 'home', component: HomeView },
    { path: '/bulletins', name: 'bulletins', component: () => import('./views/BulletinsView.vue') },
    { path: '/bulletins/:day', name: 'bulletin', component: () => import('./views/BulletinView.vue') },
    { path: '/risk', name: 'risk', component: () => import('./views/RiskView.vue') },
    { path: '/travel', name: 'travel', component: () => import('./views/TravelView.vue') },
    { path: '/articles', name: 'articles', component: () => import('./views/ArticlesView.vue') },
    { path: '/articles/:id', name: 'article', component: () => import('./views/ArticleView.vue') },
    { path: '/data', name: 'data', component: () => import('./views/DataView.vue') },
    { path: '/:rest(.*)*', redirect: '/' },
  ],
  scrollBehavior: () => ({ top: 0 }),
})

document.documentElement.lang = i18n.global.locale.value
createApp(Portal).use(i18n).use(router).mount('#portal')
