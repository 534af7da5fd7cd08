import { onBeforeUnmount, ref } from 'vue'

// True while the viewport is phone-sized (grid workers use the console on phones).
export function useMobile(maxWidth = 768) {
  const query = window.matchMedia(`(max-width: ${maxWidth}px)`)
  const mobile = ref(query.matches)
  const update = (e) => {
    mobile.value = e.matches
  }
  query.addEventListener('change', update)
  onBeforeUnmount(() => query.removeEventListener('change', update))
  return mobile
}
