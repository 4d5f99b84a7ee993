import type { Page } from '../shared/pagination';

export interface TemplateRecord {
  id: string;
  workspaceId: string;
  wabaId: string;
  metaTemplateId: string | null;
  name: string;
  language: string;
  category: string;
  status: string;
  parameterFormat: string;
  components: unknown[];
  syncedAt: Date;
}

export interface SyncedTemplate {
  metaTemplateId: string;
  name: string;
  language: string;
  category: string;
  status: string;
  parameterFormat: string;
  components: unknown[];
}

export interface TemplateFilters {
  status?: string;
  category?: string;
  language?: string;
  name?: string;
}

export interface TemplatesRepo {
  /** Replaces the catalog of one WABA: upserts what Meta returned, marks the rest DELETED. */
  replaceCatalog(workspaceId: string, wabaId: string, templates: SyncedTemplate[]): Promise<number>;
  list(workspaceId: string, filters: TemplateFilters, page: { limit: number; startingAfter?: string }): Promise<Page<TemplateRecord>>;
  workspacesWithNumbers(): Promise<string[]>;
}
