# The worker image: `opensim start` runs every role; pass another verb to run one.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# Dev dependencies are not needed at run time: tsx runs the TypeScript sources.
RUN npm ci --omit=dev && npm cache clean --force
COPY bin ./bin
COPY src ./src
COPY fixtures ./fixtures
COPY tsconfig.json ./
USER node
EXPOSE 8080
ENTRYPOINT ["node", "bin/opensim.mjs"]
CMD ["start"]
