/** What the gateway hands the admin app (and its dashboard) with each request. */
export interface AdminBindings {
  readonly requestId: string;
}
