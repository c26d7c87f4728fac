# Redis from Debian for docker-compose.cluster.yml, on the local base camqtt's images use (no image
# registry needed). REDIS_IMAGE=redis:7-bookworm uses the official image instead: the compose file
# gives the command. Build from the repository root: docker build -f cluster/redis.Dockerfile .
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server redis-tools \
 && rm -rf /var/lib/apt/lists/*
USER node
EXPOSE 6379
CMD ["redis-server", "--save", "", "--appendonly", "no"]
