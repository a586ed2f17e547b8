/**
 * The replica's single-writer lock: one holder at a time (the actor's loop,
 * a caller running its own command on an idle replica, a watcher being
 * registered). A flag and a wake-up rather than a `Semaphore`: the direct
 * write path takes it on every write, and `withPermitsIfAvailable` costs a
 * dozen effects per take.
 */
import * as Effect from "effect/Effect"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"

export interface WriterLock {
  /** Run `effect` holding the lock, waiting for it first if it is held. */
  readonly withLock: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /**
   * Run `effect` holding the lock if it is free now (None otherwise), without
   * interruption. `effect` must not fail or die (it is the writer's batch,
   * which turns defects into replies).
   */
  readonly ifFree: <A, R>(effect: Effect.Effect<A, never, R>) => Effect.Effect<Option.Option<A>, never, R>
}

export const make: Effect.Effect<WriterLock> = Effect.map(
  // One token wakes one waiter, who checks the flag again.
  Mailbox.make<void>({ capacity: 1, strategy: "sliding" }),
  (freed): WriterLock => {
    let held = false
    const release = () => {
      held = false
      freed.unsafeOffer(undefined)
    }
    const acquire: Effect.Effect<void> = Effect.suspend(() => {
      if (!held) {
        held = true
        return Effect.void
      }
      return Effect.zipRight(Effect.orDie(freed.take), acquire)
    })
    return {
      withLock: (effect) =>
        Effect.uninterruptibleMask((restore) =>
          Effect.zipRight(restore(acquire), Effect.ensuring(restore(effect), Effect.sync(release)))
        ),
      ifFree: (effect) =>
        Effect.uninterruptible(Effect.suspend(() => {
          if (held) return Effect.succeedNone
          held = true
          return Effect.map(effect, (a) => {
            release()
            return Option.some(a)
          })
        }))
    }
  }
)
