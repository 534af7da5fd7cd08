import { createRouter, createWebHistory } from 'vue-router'
import { useAuth } from './stores/auth'

import MainLayout from './components/MainLayout.vue'
import LoginView from './views/LoginView.vue'

// Side-menu entries, in order; each is shown only to users holding `perm`.
export const MENU = [
  { name: 'loopBoard', path: '/loop/board', icon: 'DataBoard', perm: 'loop.read' },
  { name: 'orders', path: '/loop/orders', icon: 'List', perm: 'loop.read' },
  { name: 'handovers', path: '/loop/handovers', icon: 'Switch', perm: 'loop.read' },
  { name: 'alerts', path: '/loop/alerts', icon: 'Bell', perm: 'loop.read' },
  { name: 'appeals', path: '/appeals', icon: 'ChatLineSquare', perm: 'loop.read' },
  { name: 'referrals', path: '/loop/referrals', icon: 'Connection', perm: 'loop.read' },
  { name: 'sites', path: '/loop/sites', icon: 'OfficeBuilding', perm: 'loop.read' },
  { name: 'arrivals', path: '/loop/arrivals', icon: 'Promotion', perm: 'loop.write' },
  { name: 'arrivalReports', path: '/loop/arrival-reports', icon: 'Position', perm: 'loop.read' },
  { name: 'policy', path: '/loop/policy', icon: 'Management', perm: 'loop.read' },
  { name: 'natSampling', path: '/nat/sampling', icon: 'FirstAidKit', perm: 'test.sample' },
  { name: 'natLab', path: '/nat/lab', icon: 'Histogram', perm: 'test.result' },
  { name: 'natRounds', path: '/nat/rounds', icon: 'Aim', perm: 'test.read' },
  { name: 'natRetests', path: '/nat/retests', icon: 'Warning', perm: 'test.read' },
  { name: 'natOrderTests', path: '/nat/order-tests', icon: 'Calendar', perm: 'loop.read' },
  { name: 'natAntigen', path: '/nat/antigen', icon: 'Odometer', perm: 'test.sample' },
  { name: 'cases', path: '/cases', icon: 'Search', perm: 'case.investigate' },
  { name: 'chains', path: '/chains', icon: 'Share', perm: 'case.investigate' },
  { name: 'referralLetters', path: '/referral-letters', icon: 'Promotion', perm: 'case.investigate' },
  { name: 'treatments', path: '/treatments', icon: 'FirstAidKit', perm: 'loop.read' },
  { name: 'analytics', path: '/analytics', icon: 'DataAnalysis', perm: 'analytics.read' },
  { name: 'disinfections', path: '/disinfections', icon: 'Brush', perm: 'venue.disinfect' },
  { name: 'riskAreas', path: '/risk-areas', icon: 'WarningFilled', perm: 'analytics.read' },
  { name: 'response', path: '/response', icon: 'AlarmClock', perm: 'response.task' },
  { name: 'responseTasks', path: '/response/tasks', icon: 'Checked', perm: 'response.task' },
  { name: 'enterprises', path: '/enterprises', icon: 'OfficeBuilding', perm: 'org.read' },
  { name: 'supplyNeeds', path: '/supply', icon: 'Basket', perm: 'loop.write' },
  { name: 'supplyBoard', path: '/supply/board', icon: 'DataLine', perm: 'loop.read' },
  { name: 'supplyStations', path: '/supply/stations', icon: 'Box', perm: 'supply.read' },
  { name: 'supplyDeliveries', path: '/supply/deliveries', icon: 'Van', perm: 'supply.read' },
  { name: 'bulletins', path: '/bulletins', icon: 'Notification', perm: 'analytics.read' },
  { name: 'scan', path: '/scan', icon: 'Camera', perm: 'venue.read' },
  { name: 'simulation', path: '/simulation', icon: 'TrendCharts', perm: 'loop.manage' },
  { name: 'areas', path: '/areas', icon: 'MapLocation', perm: 'area.read' },
  { name: 'persons', path: '/persons', icon: 'User', perm: 'person.read' },
  { name: 'elderly', path: '/vaccination/elderly', icon: 'FirstAidKit', perm: 'person.read' },
  { name: 'duplicates', path: '/duplicates', icon: 'CopyDocument', perm: 'person.merge' },
  { name: 'import', path: '/import', icon: 'Upload', perm: 'import' },
  { name: 'users', path: '/users', icon: 'Avatar', perm: 'user.manage' },
  { name: 'outbox', path: '/notify/outbox', icon: 'Message', perm: 'user.manage' },
  { name: 'audit', path: '/audit', icon: 'Document', perm: 'audit.read' },
  { name: 'retention', path: '/retention', icon: 'Timer', perm: 'retention.manage' },
]

const routes = [
  { path: '/login', name: 'login', component: LoginView, meta: { public: true } },
  // Residents (居民): their own sign-in and page, apart from the staff console and its session.
  { path: '/r', redirect: '/r/me' },
  { path: '/r/login', name: 'residentLogin', component: () => import('./views/resident/ResidentLoginView.vue'), meta: { resident: true } },
  { path: '/r/me', name: 'residentMe', component: () => import('./views/resident/ResidentMeView.vue'), meta: { resident: true } },
  {
    path: '/',
    component: MainLayout,
    children: [
      { path: '', name: 'home', component: { render: () => null } },
      { path: 'areas', name: 'areas', component: () => import('./views/AreasView.vue'), meta: { perm: 'area.read' } },
      { path: 'persons', name: 'persons', component: () => import('./views/PersonsView.vue'), meta: { perm: 'person.read' } },
      {
        path: 'persons/:id',
        name: 'person',
        component: () => import('./views/PersonDetailView.vue'),
        meta: { perm: 'person.read', menu: 'persons' },
      },
      {
        path: 'households/:id',
        name: 'household',
        component: () => import('./views/HouseholdView.vue'),
        meta: { perm: 'person.read', menu: 'persons' },
      },
      {
        path: 'duplicates',
        name: 'duplicates',
        component: () => import('./views/DuplicatesView.vue'),
        meta: { perm: 'person.merge' },
      },
      { path: 'bulletins', name: 'bulletins', component: () => import('./views/BulletinsView.vue'), meta: { perm: 'analytics.read' } },
      { path: 'enterprises', name: 'enterprises', component: () => import('./views/enterprise/EnterprisesView.vue'), meta: { perm: 'org.read' } },
      {
        path: 'enterprises/:id',
        name: 'enterpriseDetail',
        component: () => import('./views/enterprise/EnterpriseDetailView.vue'),
        meta: { perm: 'org.read' },
      },
      { path: 'supply', name: 'supplyNeeds', component: () => import('./views/supply/NeedsView.vue'), meta: { perm: 'loop.write' } },
      {
        path: 'supply/households/:id',
        name: 'supplyHousehold',
        component: () => import('./views/supply/NeedsHouseholdView.vue'),
        meta: { perm: 'loop.write', menu: 'supplyNeeds' },
      },
      {
        path: 'supply/trips/:id',
        name: 'supplyTrip',
        component: () => import('./views/supply/TripView.vue'),
        meta: { perm: 'loop.read', menu: 'supplyNeeds' },
      },
      { path: 'supply/board', name: 'supplyBoard', component: () => import('./views/supply/SupplyBoardView.vue'), meta: { perm: 'loop.read' } },
      { path: 'supply/stations', name: 'supplyStations', component: () => import('./views/supply/StationsView.vue'), meta: { perm: 'supply.read' } },
      {
        path: 'supply/deliveries',
        name: 'supplyDeliveries',
        component: () => import('./views/supply/DeliveriesView.vue'),
        meta: { perm: 'supply.read' },
      },
      {
        path: 'loop/arrival-reports',
        name: 'arrivalReports',
        component: () => import('./views/loop/ArrivalReportsView.vue'),
        meta: { perm: 'loop.read' },
      },
      { path: 'risk-areas', name: 'riskAreas', component: () => import('./views/RiskAreasView.vue'), meta: { perm: 'analytics.read' } },
      { path: 'simulation', name: 'simulation', component: () => import('./views/SimulationView.vue'), meta: { perm: 'loop.manage' } },
      { path: 'import', name: 'import', component: () => import('./views/ImportView.vue'), meta: { perm: 'import' } },
      { path: 'users', name: 'users', component: () => import('./views/UsersView.vue'), meta: { perm: 'user.manage' } },
      { path: 'appeals', name: 'appeals', component: () => import('./views/resident/AppealsView.vue'), meta: { perm: 'loop.read' } },
      { path: 'notify/outbox', name: 'outbox', component: () => import('./views/resident/OutboxView.vue'), meta: { perm: 'user.manage' } },
      { path: 'audit', name: 'audit', component: () => import('./views/AuditView.vue'), meta: { perm: 'audit.read' } },
      {
        path: 'retention',
        name: 'retention',
        component: () => import('./views/RetentionView.vue'),
        meta: { perm: 'retention.manage' },
      },
      { path: 'loop/board', name: 'loopBoard', component: () => import('./views/loop/LoopBoardView.vue'), meta: { perm: 'loop.read' } },
      { path: 'loop/orders', name: 'orders', component: () => import('./views/loop/OrdersView.vue'), meta: { perm: 'loop.read' } },
      {
        path: 'loop/orders/:id',
        name: 'order',
        component: () => import('./views/loop/OrderDetailView.vue'),
        meta: { perm: 'loop.read', menu: 'orders' },
      },
      { path: 'loop/handovers', name: 'handovers', component: () => import('./views/loop/HandoversView.vue'), meta: { perm: 'loop.read' } },
      { path: 'loop/referrals', name: 'referrals', component: () => import('./views/loop/ReferralsView.vue'), meta: { perm: 'loop.read' } },
      { path: 'loop/alerts', name: 'alerts', component: () => import('./views/loop/AlertsView.vue'), meta: { perm: 'loop.read' } },
      { path: 'loop/sites', name: 'sites', component: () => import('./views/loop/SiteView.vue'), meta: { perm: 'loop.read' } },
      {
        path: 'loop/sites/:id',
        name: 'site',
        component: () => import('./views/loop/SiteView.vue'),
        meta: { perm: 'loop.read', menu: 'sites' },
      },
      { path: 'loop/arrivals', name: 'arrivals', component: () => import('./views/loop/ArrivalsView.vue'), meta: { perm: 'loop.write' } },
      { path: 'loop/policy', name: 'policy', component: () => import('./views/loop/PolicyView.vue'), meta: { perm: 'loop.read' } },
      { path: 'nat/sampling', name: 'natSampling', component: () => import('./views/nat/SamplingView.vue'), meta: { perm: 'test.sample' } },
      { path: 'nat/lab', name: 'natLab', component: () => import('./views/nat/LabView.vue'), meta: { perm: 'test.result' } },
      { path: 'nat/rounds', name: 'natRounds', component: () => import('./views/nat/RoundsView.vue'), meta: { perm: 'test.read' } },
      {
        path: 'nat/rounds/:id',
        name: 'natRound',
        component: () => import('./views/nat/RoundDetailView.vue'),
        meta: { perm: 'test.read', menu: 'natRounds' },
      },
      { path: 'nat/retests', name: 'natRetests', component: () => import('./views/nat/RetestsView.vue'), meta: { perm: 'test.read' } },
      { path: 'nat/order-tests', name: 'natOrderTests', component: () => import('./views/nat/OrderTestsView.vue'), meta: { perm: 'loop.read' } },
      { path: 'nat/antigen', name: 'natAntigen', component: () => import('./views/nat/AntigenView.vue'), meta: { perm: 'test.sample' } },
      { path: 'cases', name: 'cases', component: () => import('./views/cases/CasesView.vue'), meta: { perm: 'case.investigate' } },
      {
        path: 'cases/:id',
        name: 'case',
        component: () => import('./views/cases/CaseDetailView.vue'),
        meta: { perm: 'case.investigate', menu: 'cases' },
      },
      { path: 'analytics', name: 'analytics', component: () => import('./views/AnalyticsView.vue'), meta: { perm: 'analytics.read' } },
      { path: 'vaccination/elderly', name: 'elderly', component: () => import('./views/ElderlyView.vue'), meta: { perm: 'person.read' } },
      { path: 'chains', name: 'chains', component: () => import('./views/cases/ChainsView.vue'), meta: { perm: 'case.investigate' } },
      {
        path: 'referral-letters',
        name: 'referralLetters',
        component: () => import('./views/cases/ReferralLettersView.vue'),
        meta: { perm: 'case.investigate' },
      },
      { path: 'treatments', name: 'treatments', component: () => import('./views/cases/TreatmentsView.vue'), meta: { perm: 'loop.read' } },
      {
        path: 'disinfections',
        name: 'disinfections',
        component: () => import('./views/cases/DisinfectionsView.vue'),
        meta: { perm: 'venue.disinfect' },
      },
      { path: 'response', name: 'response', component: () => import('./views/response/ResponseView.vue'), meta: { perm: 'response.task' } },
      {
        path: 'response/tasks',
        name: 'responseTasks',
        component: () => import('./views/response/TasksView.vue'),
        meta: { perm: 'response.task' },
      },
      {
        path: 'response/events/:id',
        name: 'responseEvent',
        component: () => import('./views/response/EventDetailView.vue'),
        meta: { perm: 'response.task', menu: 'response' },
      },
      { path: 'scan', name: 'scan', component: () => import('./views/cases/ScanView.vue'), meta: { perm: 'venue.read' } },
      { path: ':rest(.*)*', name: 'notfound', component: () => import('./views/NotFoundView.vue') },
    ],
  },
]

export const router = createRouter({ history: createWebHistory(), routes })

export function firstAllowed(auth) {
  const item = MENU.find((m) => auth.can(m.perm))
  return item ? item.path : null
}

router.beforeEach(async (to) => {
  if (to.meta.resident) return true  // residents have their own session (docs/API-resident.md)
  const auth = useAuth()
  if (!auth.loaded) {
    try {
      await auth.load()
    } catch {
      // server unreachable: let the login page show the error on submit
    }
  }
  if (to.meta.public) {
    if (auth.loggedIn && to.name === 'login') return firstAllowed(auth) || '/'
    return true
  }
  if (!auth.loggedIn) return { name: 'login', query: to.fullPath !== '/' ? { redirect: to.fullPath } : {} }
  if (to.name === 'home') {
    const first = firstAllowed(auth)
    return first && first !== '/' ? first : true
  }
  if (to.meta.perm && !auth.can(to.meta.perm)) return firstAllowed(auth) || { name: 'notfound', params: { rest: [] } }
  return true
})
