export { parseQuery, variablePromql } from './promql.js';
export type { ParsedQuery } from './promql.js';
export { alertRules, dashboardQueries, monitoringQueries } from './monitoring.js';
export type { AlertRule, Query } from './monitoring.js';
export { declaredFamilies, parseExposition } from './exposition.js';
export type { Series } from './exposition.js';
export { headingAnchor, headingAnchors, isExternal, markdownLinks } from './markdown-links.js';
export type { Link } from './markdown-links.js';
