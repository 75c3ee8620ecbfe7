// inputsOf adapts the request side of a gRPC bidi call to the AsyncIterable a handler consumes.
//
// Why not iterate the call itself: Node's stream async iterator listens for 'error' and destroys the
// stream when one is emitted. grpc-js ends a server stream with an error status through exactly that
// event (`call.emit('error', status)`), so a handler still iterating its inputs would destroy the call
// before the status and the replies still queued were sent: the core would see the stream go silent
// instead of failing. This adapter reads through 'data'/'end' only, pauses the call while the handler
// is behind (backpressure), and never destroys the call; the SDK ends it.
import type * as grpc from '@grpc/grpc-js';

/** HIGH_WATER is how many unread inputs make the adapter pause the call. */
const HIGH_WATER = 64;

/** inputsOf returns the call's requests as an AsyncIterable that ends when the client half-closes or cancels. */
export function inputsOf<T>(call: grpc.ServerDuplexStream<T, unknown>): AsyncIterable<T> {
  const queue: T[] = [];
  let head = 0;
  let ended = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const finish = () => {
    ended = true;
    notify();
  };
  call.on('data', (msg: T) => {
    queue.push(msg);
    if (queue.length - head >= HIGH_WATER) call.pause();
    notify();
  });
  call.once('end', finish);
  call.once('close', finish);
  call.once('cancelled', finish);
  return {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        if (head < queue.length) {
          const msg = queue[head++];
          if (head === queue.length) {
            queue.length = 0;
            head = 0;
          }
          if (call.isPaused() && queue.length - head < HIGH_WATER / 2) call.resume();
          yield msg;
          continue;
        }
        if (ended) return;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
}
