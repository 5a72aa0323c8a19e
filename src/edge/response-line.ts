// The parts of an HTTP/1.1 response head that do not depend on the exchange: the status line and the Date header's
// value, each made once and reused. Shared by the edge's client connections and the API's lean query way.

import { STATUS_CODES } from "node:http";

const MS_PER_SECOND = 1000;

let dateSecond = 0;
let dateValue = "";

/** The Date header's value for now (IMF-fixdate), rendered at most once a second. */
export function httpDate(): string {
  const now = Date.now();
  const s = Math.floor(now / MS_PER_SECOND);
  if (s !== dateSecond) {
    dateSecond = s;
    dateValue = new Date(now).toUTCString();
  }
  return dateValue;
}

/** Status lines by status code, made on first use. */
const statusLines: string[] = [];

/** `HTTP/1.1 <status> <reason>\r\n`. */
export function statusLine(status: number): string {
  let line = statusLines[status];
  if (line === undefined) {
    line = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Unknown"}\r\n`;
    statusLines[status] = line;
  }
  return line;
}
