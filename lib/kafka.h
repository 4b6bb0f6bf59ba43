/* kafka.h - librdkafka configuration shared by the intake (producer) and the consumer.
 *
 * librdkafka's own log lines are routed into Quarry's JSON log. */
#ifndef QUARRY_KAFKA_H
#define QUARRY_KAFKA_H

#include <librdkafka/rdkafka.h>

/* A new configuration with bootstrap.servers, client.id and the JSON log callback.
 * Returns NULL (logged) when a property is rejected. The caller owns the result until
 * it is passed to rd_kafka_new(), which takes it over. */
rd_kafka_conf_t *q_kafka_conf_new(const char *brokers, const char *client_id);

/* Sets one property; returns 0, or -1 (logged with the property name). */
int q_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value);

#endif
