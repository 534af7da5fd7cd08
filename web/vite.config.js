import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// During `vite dev` the API runs on the bihuan server; in production the server serves dist/.
export default defineConfig({
  plugins: [vue()],
  server: {
    proxy: {
      '/api': { target: process.env.BIHUAN_API || 'http://127.0.0.1:8080', changeOrigin: false },
    },
  },
  build: {
    outDir: 'dist',
    chunkSizeWarningLimit: 2000,
  },
})
