// A minimal in-memory stand-in for anywidget's model, for unit tests of views.
import type { AnyModel } from "../src/lib/anywidget";

export class FakeModel implements AnyModel {
  private values: Record<string, any>;
  private listeners: Record<string, ((...args: any[]) => void)[]> = {};
  sent: unknown[] = [];

  constructor(values: Record<string, any>) {
    this.values = { ...values };
  }
  get(name: string) {
    return this.values[name];
  }
  set(name: string, value: unknown) {
    this.values[name] = value;
    for (const cb of this.listeners[`change:${name}`] ?? []) cb();
  }
  save_changes() {}
  send(content: unknown) {
    this.sent.push(content);
  }
  on(event: string, cb: (...args: any[]) => void) {
    (this.listeners[event] ??= []).push(cb);
  }
  off() {}
}
