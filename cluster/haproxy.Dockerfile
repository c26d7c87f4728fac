# HAProxy from Debian for docker-compose.cluster.yml, on the local base camqtt's images use (no
# image registry needed). HAPROXY_IMAGE=haproxy:2.6 uses the official image instead: it reads the
# same config path. Build from the repository root: docker build -f cluster/haproxy.Dockerfile .
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends haproxy \
 && rm -rf /var/lib/apt/lists/*
USER node
# MQTTS, the relays, the balancer's own health
EXPOSE 8883 8080 8404
CMD ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]
