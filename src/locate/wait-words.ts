/**
 * Sleeping hangs in words, the same for the text answer and --json: who a task is, what it waits for,
 * what holds it up, and the root sentence.
 */
import type { Root } from './root.js';
import { SLEEPING_LOCKS, type TaskWait, type Task, type WaitKind, type WaitRoot } from './waits.js';

/** `kworker/1:1:29`, `task 233`, `CPU 1`, or `a task on CPU 1 (stopped at #25)`. */
export function describeTask(task: Task): string {
  if (task.name) return task.name;
  if (/^T\d/.test(task.key)) return `task ${task.key.slice(1)}`;
  if (/^CPU\d+$/.test(task.key)) return `CPU ${task.at.cpu}`;
  return `a task on CPU ${task.at.cpu} (stopped at #${task.at.crumb.id})`;
}

/** `the completion rc->copy_done (wait_for_completion)`, `the work item rc->sync_work (flush_work)`. */
export function describeWait(wait: TaskWait): string {
  const noun: Record<WaitKind, string> = {
    mutex: 'the mutex', rt_mutex: 'the rt_mutex', rwsem: 'the rwsem', semaphore: 'the semaphore', completion: 'the completion',
    work: 'the work item', workqueue: 'the workqueue', waitqueue: 'the wait queue', rcu: 'an RCU grace period', kthread: 'the kthread', sleep: 'time to pass',
  };
  return `${noun[wait.kind]}${wait.object ? ` ${wait.object}` : ''} (${wait.call})`;
}

/** What holds a wait up, in words: its holders, or why there is none. */
export function holdUp(wait: TaskWait): string {
  if (wait.holders.length > 0) {
    const who = wait.holders.map((t) => (t === wait.task ? 'itself' : `${describeTask(t)}, stopped at #${t.at.crumb.id} in ${t.at.crumb.function}()`));
    const what = SLEEPING_LOCKS.has(wait.kind) ? 'held by' : wait.kind === 'completion' || wait.kind === 'waitqueue' ? 'to be signalled by' : 'running';
    return `${what} ${who.join(', ')}`;
  }
  switch (wait.kind) {
    case 'completion':
    case 'waitqueue': {
      const where = wait.signallers.map((s) => `#${s.crumb.id} ${s.crumb.function}()`).join(', ');
      return where ? `no trail signals it after the wait began (${where} never printed since)` : 'no instrumented statement signals it';
    }
    case 'work':
    case 'workqueue':
    case 'kthread':
      return wait.handlers.length
        ? `no trail is in ${wait.handlers.map((h) => `${h}()`).join(', ')} and none returned since: queued behind something, or never queued`
        : 'its handler is not among the instrumented functions';
    case 'rcu':
      return 'no trail is inside an RCU read-side section: a reader in code without breadcrumbs, or a callback';
    case 'sleep':
      return wait.task.at.crumb.loop ? 'it sleeps in a loop whose condition nothing makes true' : 'a sleep that does not end';
    default:
      return 'held by no trail: taken in code without breadcrumbs, or before the log starts';
  }
}

/** The sleeping root as the answer's root: the same sentence for text and JSON. */
export function rootFromWaits(root: WaitRoot): Root {
  const { task, wait } = root;
  const chain = root.chain
    .filter((w) => w.task !== task)
    .map((w) => `${describeTask(w.task)} waits for ${describeWait(w)} at #${w.task.at.crumb.id} in ${w.task.at.crumb.function}()`);
  const own =
    root.reason === 'deadlock'
      ? `${root.cycle!.map((w) => `${describeTask(w.task)} waits for ${describeWait(w)}, ${holdUp(w)}`).join('; ')}: a cycle, none can go on`
      : wait
        ? `${describeTask(task)} sleeps in ${describeWait(wait)} at #${task.at.crumb.id} in ${task.at.crumb.function}(): ${holdUp(wait)}`
        : `${describeTask(task)} holds what the others wait for and went no further than #${task.at.crumb.id} in ${task.at.crumb.function}()`;
  const reported = new Set([task, ...root.chain.map((w) => w.task)].filter((t) => t.report)).size;
  return {
    reason: root.reason,
    thread: task.key,
    cpu: task.at.cpu,
    at: task.at,
    why: [...chain, own].join('; then ') + (reported ? `; the kernel reported ${reported} of these tasks blocked` : ''),
    confidence: task.report || root.reason === 'deadlock' ? 'high' : root.waiters.length > 1 ? 'medium' : 'low',
    cycle: root.cycle?.map((w) => w.task.key),
    sleep: root,
    checks: [],
  };
}
