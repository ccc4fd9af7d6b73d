// Starts Swagger UI on /api/docs from this file (the site allows no inline script) with local assets only.
window.addEventListener("DOMContentLoaded", function () {
  var node = document.getElementById("swagger-ui");
  if (!node || !window.SwaggerUIBundle) return;
  window.ui = window.SwaggerUIBundle({
    url: node.getAttribute("data-openapi-url"),
    domNode: node,
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    validatorUrl: "none", // never send the spec to an outside validator
    // "Try it out" acts as the logged-in person: writes carry the session's CSRF token like every form.
    requestInterceptor: function (request) {
      var meta = document.querySelector('meta[name="csrf-token"]');
      if (meta && meta.content) request.headers["X-CSRF-Token"] = meta.content;
      return request;
    }
  });
});
