declare module 'swagger-ui-dist' {
  /** Folder of the packaged Swagger UI files. */
  export function getAbsoluteFSPath(): string;
}
