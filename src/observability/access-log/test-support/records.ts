// Exchange records for the access log's tests: one typical proxied request
// and route labels as the compiled table would share them.

import { ExchangeRecord, type RouteRef } from '../../exchange-record.ts';

/** 2026-01-02T03:04:05.678Z */
export const WALL = Date.UTC(2026, 0, 2, 3, 4, 5, 678);

export function routeRef(namespace: string, ingress: string, service: string): RouteRef {
  return Object.freeze({ namespace, ingress, service, host: 'app.example.com', key: `${namespace}\0${ingress}\0${service}`, hostKey: '' });
}

/** A typical proxied request. */
export function typical(): ExchangeRecord {
  const r = new ExchangeRecord();
  r.startedAt = 1000;
  r.startedWall = WALL;
  r.endedAt = 1012.3456789;
  r.method = 'GET';
  r.host = 'app.example.com';
  r.path = '/api/v1/users/12345/orders';
  r.protocol = 'HTTP/1.1';
  r.tls = 'TLSv1.3';
  r.clientAddress = '10.244.1.17';
  r.route = routeRef('shop', 'storefront', 'orders');
  r.status = 200;
  r.bytesIn = 17;
  r.bytesOut = 5123;
  r.upstream = '10.244.2.9:8080';
  r.upstreamStartedAt = 1000.25;
  r.upstreamHeadAt = 1011.95;
  r.requestId = '5f0c6e2a9b7d4c1e8f3a2b6c7d8e9f01';
  r.traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  return r;
}
