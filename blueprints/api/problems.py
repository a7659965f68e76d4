"""RFC 9457 problem details: `application/problem+json`, a stable `type` per kind of error
(documented on the reference page, anchor = slug) and a French `detail`."""

from __future__ import annotations

from flask import current_app, jsonify, url_for

PROBLEM_TYPES = {
    "requete-invalide": (400, "Requête invalide"),
    "authentification-requise": (401, "Authentification requise"),
    "droit-manquant": (403, "Droit manquant"),
    "introuvable": (404, "Ressource introuvable"),
    "methode-non-autorisee": (405, "Méthode non autorisée"),
    "conflit": (409, "Conflit"),
    "cle-idempotence-reutilisee": (422, "Clé d'idempotence déjà utilisée pour une autre requête"),
    "version-perimee": (412, "Version périmée"),
    "trop-volumineux": (413, "Envoi trop volumineux"),
    "type-de-contenu": (415, "Type de contenu non accepté"),
    "validation": (422, "Données invalides"),
    "operation-refusee": (422, "Opération refusée"),
    "trop-de-requetes": (429, "Trop de requêtes"),
    "erreur-serveur": (500, "Erreur du serveur"),
}
BY_STATUS = {
    400: "requete-invalide",
    401: "authentification-requise",
    403: "droit-manquant",
    404: "introuvable",
    405: "methode-non-autorisee",
    409: "conflit",
    412: "version-perimee",
    413: "trop-volumineux",
    415: "type-de-contenu",
    422: "validation",
    429: "trop-de-requetes",
    500: "erreur-serveur",
}
DEFAULT_DETAILS = {
    400: "La requête n'a pas pu être lue.",
    401: "Envoyez un jeton valide dans l'en-tête « Authorization: Bearer <jeton> ».",
    403: "Le jeton de ce client n'a pas le droit nécessaire.",
    404: "Cette ressource n'existe pas.",
    405: "Cette méthode n'est pas acceptée sur cette adresse.",
    413: "L'envoi dépasse la taille autorisée.",
    415: "Envoyez un corps JSON (Content-Type: application/json).",
    429: "Trop de requêtes en peu de temps : ralentissez puis réessayez.",
    500: "Une erreur inattendue s'est produite ; réessayez plus tard.",
}


class ApiProblem(Exception):
    """Raised anywhere in an API view; answered as problem details."""

    def __init__(
        self, slug: str, detail: str | None = None, *, errors: dict | None = None, headers: dict | None = None
    ):
        super().__init__(detail or slug)
        self.slug = slug
        self.status = PROBLEM_TYPES[slug][0]
        self.detail = detail or DEFAULT_DETAILS.get(self.status, PROBLEM_TYPES[slug][1])
        self.errors = errors
        self.headers = headers or {}


def type_uri(slug: str) -> str:
    # From the configured base URL, never the request's Host: the same URI on every call.
    return current_app.config["PORTAL_BASE_URL"] + url_for("api.reference", _anchor=slug)


def problem_response(problem: ApiProblem):
    body = {
        "type": type_uri(problem.slug),
        "title": PROBLEM_TYPES[problem.slug][1],
        "status": problem.status,
        "detail": problem.detail,
    }
    if problem.errors:
        body["errors"] = problem.errors
    response = jsonify(body)
    response.status_code = problem.status
    response.mimetype = "application/problem+json"
    for name, value in problem.headers.items():
        response.headers[name] = value
    if problem.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def status_problem(status: int, detail: str | None = None):
    """The problem answer of an HTTP status raised outside our views (404, 405, 413, 429, 500)."""
    slug = BY_STATUS.get(status, "requete-invalide" if status < 500 else "erreur-serveur")
    problem = ApiProblem(slug, detail or DEFAULT_DETAILS.get(status))
    problem.status = status
    return problem_response(problem)
