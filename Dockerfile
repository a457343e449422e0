# Multi-stage build of a static vhupay binary, run as a non-root user.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/vhupay ./cmd/vhupay && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/vhupay /vhupay
COPY --from=build --chown=65532:65532 /out/data /data
USER nonroot:nonroot
# VHUPAY_PUBLIC_URL is what browsers are sent to (bank pages, return links): set it to the
# address the container is reached at.
ENV VHUPAY_ADDR=0.0.0.0:8080 \
    VHUPAY_PUBLIC_URL=http://localhost:8080 \
    VHUPAY_DATABASE_URL=sqlite:///data/vhupay.db
VOLUME ["/data"]
EXPOSE 8080
ENTRYPOINT ["/vhupay"]
CMD ["serve"]
