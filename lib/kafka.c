/* kafka.c - librdkafka configuration shared by both daemons (see kafka.h). */
#include "kafka.h"

#include "log.h"

static void kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    q_log_level lvl = level <= 3 ? Q_LOG_ERROR : level <= 5 ? Q_LOG_WARN : Q_LOG_DEBUG;

    (void)rk;
    q_log(lvl, "kafka.log", json_pack("{s:s,s:s}", "facility", fac, "msg", buf));
}

int q_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value)
{
    char errstr[512];

    if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        q_log(Q_LOG_ERROR, "kafka.config_rejected",
              json_pack("{s:s,s:s}", "property", name, "error", errstr));
        return -1;
    }
    return 0;
}

rd_kafka_conf_t *q_kafka_conf_new(const char *brokers, const char *client_id)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();

    if (q_kafka_conf_set(conf, "bootstrap.servers", brokers) ||
        q_kafka_conf_set(conf, "client.id", client_id)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
    return conf;
}
