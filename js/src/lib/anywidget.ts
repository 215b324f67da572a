// The slice of anywidget's model API the widgets use (typed locally so the
// bundle needs no runtime dependency).

export interface AnyModel {
  get(name: string): any;
  set(name: string, value: unknown): void;
  save_changes(): void;
  send(content: unknown, callbacks?: unknown, buffers?: ArrayBuffer[]): void;
  on(event: string, callback: (...args: any[]) => void): void;
  off(event?: string | null, callback?: ((...args: any[]) => void) | null): void;
}

export interface RenderContext {
  model: AnyModel;
  el: HTMLElement;
}
