declare module 'swagger-ui-dist/absolute-path.js' {
  /** Folder of the packaged Swagger UI files (without loading the UI bundle itself). */
  export default function getAbsoluteFSPath(): string;
}
