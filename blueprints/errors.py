"""Error pages: a full page for a normal request, a fragment for an htmx one."""

from __future__ import annotations

from flask import make_response, render_template, request

from blueprints.htmx import is_htmx

TITLES = {
    400: "Requête invalide",
    401: "Connexion requise",
    403: "Accès refusé",
    404: "Page introuvable",
    405: "Action non autorisée",
    413: "Fichier ou envoi trop volumineux",
    415: "Format d'envoi non accepté",
    422: "Saisie invalide",
    429: "Trop de tentatives",
    500: "Erreur du serveur",
}
MESSAGES = {
    400: "La demande n'a pas pu être traitée.",
    403: "Votre rôle ne permet pas d'accéder à cette page.",
    404: "Cette page n'existe pas ou vous n'y avez pas accès.",
    405: "Cette action n'est pas possible ici.",
    413: "L'envoi dépasse la taille autorisée. Réduisez la taille du fichier et recommencez.",
    415: "Cette page n'accepte que l'envoi d'un formulaire. Rechargez-la puis recommencez votre saisie.",
    429: "Trop de tentatives en peu de temps. Patientez quelques minutes avant de réessayer.",
    500: "Une erreur inattendue s'est produite. Nos équipes en sont informées ; réessayez plus tard.",
}


def render_error(code: int, message: str | None = None):
    if request.path.startswith("/api/"):  # the JSON API answers RFC 9457 problem details
        from blueprints.api.problems import status_problem

        return status_problem(code)
    title = TITLES.get(code, "Erreur")
    message = message or MESSAGES.get(code, "La demande n'a pas pu être traitée.")
    template = "errors/_error.html" if is_htmx() else "errors/page.html"
    response = make_response(render_template(template, code=code, title=title, message=message), code)
    response.vary.add("HX-Request")
    return response
