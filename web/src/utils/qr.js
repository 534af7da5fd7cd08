// Reading QR codes (health codes on the sampling page) with jsQR, a pure JavaScript decoder: from
// the pixels of a camera frame or of a photo. Works without a camera too (a photo taken with the
// phone's camera app through <input type="file" capture>), which is the fallback where the page
// is not served over HTTPS and getUserMedia is unavailable.
import jsQR from 'jsqr'

// The text of the QR code in RGBA pixels (Uint8ClampedArray of width * height * 4), or null.
export function decodeQr(data, width, height) {
  const hit = jsQR(data, width, height, { inversionAttempts: 'attemptBoth' })
  return hit && hit.data ? hit.data : null
}

// Draws an image source (video frame, bitmap, image) scaled to at most `max` pixels on its long
// side and decodes it.
export function decodeSource(source, width, height, canvas, max = 1024) {
  if (!width || !height) return null
  const scale = Math.min(1, max / Math.max(width, height))
  const w = Math.max(1, Math.round(width * scale))
  const h = Math.max(1, Math.round(height * scale))
  canvas.width = w
  canvas.height = h
  const ctx = canvas.getContext('2d', { willReadFrequently: true })
  ctx.drawImage(source, 0, 0, w, h)
  return decodeQr(ctx.getImageData(0, 0, w, h).data, w, h)
}

// The text of the QR code in an image file (a photo), or null.
export async function decodeFile(file) {
  const bitmap = await createImageBitmap(file)
  try {
    return decodeSource(bitmap, bitmap.width, bitmap.height, document.createElement('canvas'))
  } finally {
    bitmap.close?.()
  }
}

// Whether this page may use a camera stream (a secure context with mediaDevices).
export function cameraAvailable() {
  return typeof navigator !== 'undefined' && !!navigator.mediaDevices?.getUserMedia && window.isSecureContext !== false
}
