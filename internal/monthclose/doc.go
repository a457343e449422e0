// Package monthclose closes a month: once month M has ended in Europe/Paris it runs, in order,
// the steps refresh_scores, collections, statements and ceiling_reviews, exactly once per month
// whoever asks (the scheduler, the API, the CLI, several processes at once), and resumes where it
// stopped after an error, a timeout or a crash.
//
// # What exactly once rests on
//
//  1. One close per month: the month_closes table's primary key is the month. Service.Start
//     inserts the row and enqueues the job that runs it in ONE transaction; a unique violation
//     means someone else started it, and that close is answered instead.
//  2. One job per month: the job queue (River) inserts the job with uniqueness by month over the
//     states available, pending, scheduled, running and retryable, so a second insert while a
//     job is alive is a no-op. Only one process works a given job at a time.
//  3. One runner at a time: Engine.Run first claims a lease on the close's row (a conditional
//     UPDATE). Every write a run makes (a step's start, checkpoint and completion, the close's end)
//     is fenced by the lease, so a run that lost its lease (stuck past its timeout and rescued by
//     another process) cannot record anything. The lease expires on its own when its holder dies.
//  4. One completion per step: the engine records each step's completion in month_close_steps and
//     never runs a completed step again. A step interrupted halfway (error, timeout, crash) is run
//     again from the start of the step, with its last checkpoint: steps must be idempotent (see
//     Step).
//
// # Retries and failure
//
// A step's error fails the job's attempt; the queue retries it with backoff and the close stays
// running. After the queue's last attempt the close becomes failed; Service.Start on a failed
// close re-opens it (running again) and enqueues a new job, which resumes after the last completed
// step. A run whose time runs out (the job's timeout) while its step reports progress ends with
// ErrTimeUp instead: a step at the provider's pace may take hours, so the queue runs the close
// again at once without spending an attempt. A process stopped while a close runs hands the job back to the queue at once; a process
// killed leaves the job to the queue's rescuer, which retries it after the rescue delay.
package monthclose
