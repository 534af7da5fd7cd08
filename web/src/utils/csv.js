// Client-side CSV generation: UTF-8 with a byte-order mark so that Excel (as used in China)
// opens Chinese text correctly.
export const BOM = '\uFEFF'

export function csvField(value) {
  let s = value === undefined || value === null ? '' : String(value)
  // Cells starting with these characters would be taken for formulas by spreadsheet programs:
  // the same rule as the server's writer (src/ingest/csv.hpp, CsvWriter).
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`
  if (/[",\r\n]/.test(s)) s = `"${s.replace(/"/g, '""')}"`
  return s
}

export function toCsv(header, rows) {
  const lines = [header.map(csvField).join(',')]
  for (const r of rows) lines.push(r.map(csvField).join(','))
  return BOM + lines.join('\r\n') + '\r\n'
}

export function downloadText(filename, text, type = 'text/csv;charset=utf-8') {
  const blob = new Blob([text], { type })
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = filename
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 1000)
}
