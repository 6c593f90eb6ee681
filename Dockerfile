# syntax=docker/dockerfile:1

# Assets stage: the chart library and map data from the npm lockfile,
# embedded by the build so that pages load nothing from another host
# (without the dev dependencies: axe-core is for the browser tests).
FROM node:20-bookworm AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && mkdir -p vendor/maps \
 && cp node_modules/echarts/dist/echarts.min.js vendor/ \
 && cp node_modules/echarts-maps-v4/map/js/province/shanxi.js vendor/maps/ \
 && cp node_modules/echarts/LICENSE vendor/ECHARTS-LICENSE

# Build stage: a static binary, no cgo (SQLite is pure Go), with exactly the
# Go release go.mod names: its patch level carries the standard library's
# security fixes (README, Supply chain).
FROM golang:1.27.3-bookworm AS build
WORKDIR /src

# Module downloads get their own layer, rebuilt only when go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download

COPY . .
COPY --from=assets /src/vendor/ reports/static/vendor/
ARG VERSION=dev
ENV CGO_ENABLED=0
RUN go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/ipeval ./cmd/ipeval \
 && mkdir -p /out/rootfs/data

# Final stage: nothing but the binary, run as an unprivileged user.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ipeval /ipeval
# /data belongs to nonroot (65532) so a named volume mounted there starts
# writable; with WORKDIR / the default SQLite path ./data/ipeval.db lands in it.
COPY --from=build --chown=65532:65532 /out/rootfs/ /
WORKDIR /
USER nonroot
EXPOSE 8080
ENTRYPOINT ["/ipeval"]
CMD ["serve"]
