# syntax=docker/dockerfile:1

# Build stage: a static binary, no cgo (SQLite is pure Go).
FROM golang:1.26-bookworm AS build
WORKDIR /src

# Module downloads get their own layer, rebuilt only when go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download

COPY . .
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
