// Background jobs (docs/API.md "Jobs"): a POST that starts one answers 202 {job_id}; the job is
// polled with GET /api/jobs/{id} until it is done, failed or cancelled (a simulation stopped on request).
import { api } from '../api'

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// Polls job `id` every `interval` ms, calling onUpdate(job) with each state; resolves with the
// finished job. `cancelled()` (optional) stops polling early (a page left).
export async function followJob(id, { onUpdate = () => {}, interval = 500, cancelled = () => false } = {}) {
  for (;;) {
    const job = await api(`/jobs/${id}`)
    onUpdate(job)
    if (job.status === 'done' || job.status === 'failed' || job.status === 'cancelled' || cancelled()) return job
    await sleep(interval)
  }
}
