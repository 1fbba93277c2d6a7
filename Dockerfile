# Minimal image of Gatehouse; see docs/deployment.md. Build: docker build -t gatehouse .
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY . .
# The README's install (its prepare script builds dist/), then only what runs Gatehouse is kept.
RUN npm install --no-audit --no-fund && npm prune --omit=dev

FROM node:22-bookworm-slim
ENV NODE_ENV=production GATEHOUSE_HOST=0.0.0.0 GATEHOUSE_DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/static ./static
RUN install -d -o node -g node -m 0700 /data
USER node
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD ["node", "-e", "fetch('http://127.0.0.1:8080/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# What `npm start` runs once it has built dist/.
CMD ["node", "--no-memory-reducer", "dist/cli.js", "serve"]
