/*
 * kafka_int.h - helpers shared by the Kafka module's files (kafka.c,
 * kafka_producer.c, kafka_marks.c) and nothing else. conf and queue are
 * librdkafka's rd_kafka_conf_t and rd_kafka_queue_t, passed as void * so
 * that no librdkafka type leaves the module's .c files. Loop thread.
 */
#ifndef HERALD_KAFKA_INT_H
#define HERALD_KAFKA_INT_H

#include <stddef.h>

#include "config.h"

struct herald__loop;
struct herald__watch;

/* herald's settings for every handle: librdkafka wakes its threads with
 * TERMINATION_SIGNAL on destroy, so that freeing a handle takes
 * milliseconds, not up to a second of threads timing out their waits
 * (the signal is blocked in the calling thread, as librdkafka asks). */
void herald__kafka_conf_init(void *conf);
/* Free handle rk (an rd_kafka_t) with rd_kafka_destroy_flags(rk, flags)
 * on a thread of its own, not waited for: a consumer's destroy waits up to
 * a second for its group handler's next turn, which neither the loop nor
 * the process's exit should. Nothing is lost: a consumer is closed (or
 * given up on) and a producer's writes are acknowledged (or purged)
 * before. Falls back to destroying inline if no thread can be started. */
void herald__kafka_reap(void *rk, int flags);
/* Set one property: 0, or -1 with "kafka property 'k': why" in err. */
int herald__kafka_set(void *conf, const char *k, const char *v, char *err,
                      size_t errlen);
/* Set every property of map m (NULL: none): 0, or -1 with err (a non-scalar
 * value names its position). */
int herald__kafka_apply(void *conf, const struct herald__node *m, char *err,
                        size_t errlen);
/* A pipe that queue's io events write to, watched on loop (fn runs on
 * readable). 0, or -1 with err (fds closed by herald__kafka_close_pipe). */
int herald__kafka_wake_pipe(struct herald__loop *loop, void *queue, int fds[2],
                            struct herald__watch **watch,
                            void (*fn)(void *ctx, int fd, int events),
                            void *ctx, char *err, size_t errlen);
/* Read the wake-up bytes off fd. */
void herald__kafka_drain_pipe(int fd);
/* Close both ends (those >= 0) and set them to -1. */
void herald__kafka_close_pipe(int fds[2]);
/* One librdkafka log line (syslog level) through herald's log. */
void herald__kafka_log_line(int level, const char *fields, const char *fac,
                            const char *buf);

#endif
