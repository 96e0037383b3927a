// aio/aio.hpp — lesson 01: the umbrella header. `#include <aio/aio.hpp>` gives the whole API.
// Each lesson adds its headers here.
#pragma once

#include "aio/event_loop.hpp"
#include "aio/not_implemented.hpp"
#if AIO_LESSON >= 2
#include "aio/coroutine.hpp"
#endif // lesson 02
#if AIO_LESSON >= 3
#include "aio/run.hpp"
#endif // lesson 03
#if AIO_LESSON >= 4
#include "aio/cancelled_error.hpp"
#include "aio/gather.hpp"
#include "aio/task.hpp"
#endif // lesson 04
#if AIO_LESSON >= 5
#include "aio/sleep.hpp"
#endif // lesson 05
#if AIO_LESSON >= 6
#include "aio/async_generator.hpp"
#endif // lesson 06
#if AIO_LESSON >= 7
#include "aio/async_context_manager.hpp"
#include "aio/async_with.hpp"
#include "aio/exit_stack.hpp"
#endif // lesson 07
#if AIO_LESSON >= 8
#include "aio/net/stream.hpp"
#endif // lesson 08
#if AIO_LESSON >= 9
#include "aio/http/client.hpp"
#include "aio/http/server.hpp"
#endif // lesson 09
#if AIO_LESSON >= 10
#include "aio/condition.hpp"
#include "aio/event.hpp"
#include "aio/lock.hpp"
#include "aio/queue.hpp"
#include "aio/semaphore.hpp"
#endif // lesson 10
#if AIO_LESSON >= 11
#include "aio/shield.hpp"
#include "aio/task_group.hpp"
#include "aio/timeout.hpp"
#include "aio/wait_for.hpp"
#endif // lesson 11
#if AIO_LESSON >= 12
#include "aio/file.hpp"
#include "aio/net/getaddrinfo.hpp"
#include "aio/thread_pool.hpp"
#include "aio/to_thread.hpp"
#endif // lesson 12
#if AIO_LESSON >= 13
#include "aio/debug.hpp"
#include "aio/inspect.hpp"
#endif // lesson 13
