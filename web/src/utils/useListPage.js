import { ref, watch } from 'vue'
import { useRoute } from 'vue-router'
import { api, errorText } from '../api'

// A list page whose filters live in the route's query (so that a link or the back button shows
// the same list): `rows`, `loading` and `error`, and `load()`, which reads `path` with `query()`.
// Whenever the route's query changes while the page named `name` is shown, `fromQuery(q)` sets
// the page's filters from it and the list is loaded again (also once at the start).
export function useListPage(name, { path, query = () => ({}), fromQuery = () => {} }) {
  const route = useRoute()
  const rows = ref([])
  const loading = ref(false)
  const error = ref('')

  async function load() {
    loading.value = true
    error.value = ''
    try {
      rows.value = (await api(typeof path === 'function' ? path() : path, { query: query() })).items || []
    } catch (e) {
      rows.value = []
      error.value = errorText(e)
    } finally {
      loading.value = false
    }
  }

  watch(
    () => route.query,
    (q) => {
      if (route.name !== name) return
      fromQuery(q)
      load()
    },
    { immediate: true },
  )
  return { rows, loading, error, load }
}
