/**
 * swagger-ui-dist ships no types. Only its path helper is used on the server: the package's main
 * module would also load the 1.7 MB browser bundle into Node.
 */
declare module 'swagger-ui-dist/absolute-path.js' {
  /** The directory holding swagger-ui-bundle.js, swagger-ui.css, ... */
  function getAbsoluteFSPath(): string;
  export = getAbsoluteFSPath;
}
