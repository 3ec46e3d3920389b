// Starts Swagger UI on /api/docs (app/routes/api.docs.ts). A file rather than an inline script:
// the CSP runs only scripts carrying the response's nonce, which the page's <script> tag has.
/* global SwaggerUIBundle */
const root = document.getElementById('swagger-ui')
SwaggerUIBundle({
  url: root.dataset.url,
  domNode: root,
  deepLinking: true,
  // The public validator badge would load an image from validator.swagger.io: nothing leaves.
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
})
