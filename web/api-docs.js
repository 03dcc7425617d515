// The API reference page: Swagger UI (vendored under vendor/swagger-ui) rendering
// this server's own OpenAPI document. No validator badge: it would call
// validator.swagger.io, and the page loads nothing from other hosts.
window.addEventListener('load', () => {
  window.ui = SwaggerUIBundle({
    url: '/api/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    tryItOutEnabled: false,
    defaultModelsExpandDepth: 0,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
  });
});
