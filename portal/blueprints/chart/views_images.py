"""Clinical images: upload (checked by content), list, serve as their own image type only."""
from flask import abort, current_app, flash, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.access import allow
from portal.blueprints.chart.forms import IMAGE_KIND_LABELS, ImageForm, ReleaseForm
from portal.blueprints.chart.loaders import image_root, load_image, load_patient
from portal.blueprints.chart.views import bp
from portal.models import Visit
from portal.services import ServiceError
from portal.services import chart_images as images
from portal.web import apply_service_error, refuse, render, see_other


@bp.route("/patients/<code>/images")
@allow("image.read")
def image_list(code, form=None, status=200):
    patient = load_patient(code, "images")
    found = images.images_of(patient)
    metas = {im.code: images.dicom_meta(im, image_root()) for im in found if images.is_dicom(im)}
    return render("chart/images.html", patient=patient, images=found, form=form or ImageForm(),
                  kinds=IMAGE_KIND_LABELS, release_form=ReleaseForm(), dicom_metas=metas,
                  pairs=images.before_after_pairs(found)), status


@bp.route("/patients/<code>/images", methods=["POST"])
@allow("image.upload")
def image_upload(code):
    patient = load_patient(code, "images")
    form = ImageForm()
    upload = request.files.get("file")
    if form.validate_on_submit():
        visit = Visit.get_or_none(Visit.code == request.form.get("visit", ""), Visit.patient == patient)
        try:
            if upload is None or not upload.filename:
                raise ServiceError(_("Choose a file."), field="file")
            max_bytes = current_app.config.get("IMAGE_MAX_BYTES", images.DEFAULT_MAX_BYTES)
            data = upload.stream.read(max_bytes + 1)
            image = images.store(patient, upload.filename, data, form.kind.data, current_user, image_root(),
                                 max_bytes=max_bytes, visit=visit, teeth=form.teeth.data or "",
                                 note=form.note.data or "")
        except ServiceError as err:
            apply_service_error(form, err)
            if err.field == "file":
                form.form_errors.append(err.message)
        else:
            if images.is_dicom(image):  # issue 14: the file names its patient; say so when it is not this one
                for warning in images.dicom_meta(image, image_root()).warnings:
                    flash(warning, "warning")
            return see_other(url_for("chart.image_list", code=code), _("Uploaded %(name)s.", name=image.original_name))
    return image_list(code, form=form, status=422)


@bp.route("/images/<code>")
@allow("image.read")
def image_file(code):
    image = load_image(code)
    path = images.path_of(image, image_root())
    if not path.is_file():
        abort(404)
    ext = image.stored_name.rsplit(".", 1)[-1]
    resp = send_file(path, mimetype=image.content_type, as_attachment=request.args.get("download") == "1",
                     download_name=f"{image.code}.{ext}", max_age=0, conditional=False)
    if request.args.get("download") != "1":
        resp.headers["Content-Disposition"] = f'inline; filename="{image.code}.{ext}"'
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/images/<code>/release", methods=["POST"])
@allow("image.release")
def image_release(code):
    image = load_image(code)
    form = ReleaseForm()
    if form.validate_on_submit():
        try:
            images.set_released(image, bool(form.released.data), current_user)
        except ServiceError as err:
            return refuse(err, back=url_for("chart.image_list", code=image.patient.code))
    message = _("Released to the patient's link.") if image.released else _("Not shown on the patient's link.")
    return see_other(url_for("chart.image_list", code=image.patient.code), message)


@bp.route("/images/<code>/preview")
@allow("image.read")
def image_preview(code):
    """A DICOM file's PNG preview (issue 14); 404 when the pixel data cannot be drawn here."""
    image = load_image(code)
    if not images.is_dicom(image):
        abort(404)
    path = images.preview_of(image, image_root())
    if path is None:
        abort(404)
    resp = send_file(path, mimetype="image/png", max_age=0, conditional=False)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/patients/<code>/images/compare")
@allow("image.read")
def image_compare(code):
    """Before and after photos side by side (issue 14), paired by the teeth they show."""
    patient = load_patient(code, "images")
    return render("chart/images_compare.html", patient=patient,
                  pairs=images.before_after_pairs(images.images_of(patient)), kinds=IMAGE_KIND_LABELS)


# --- the patient link: before/after pairs whose two photos are both released (issue 14) ----------

def _link_pairs(patient, config, today):
    released = [im for im in images.images_of(patient) if im.released and im.kind in ("before", "after")]
    pairs = images.before_after_pairs(released)
    return {"pairs": pairs} if pairs else None


@bp.record_once
def _register_link_pairs(state):
    from flask_babel import lazy_gettext as _l
    from portal.services import patient_links
    patient_links.register_section("before_after", _l("Before and after"), "chart/images_link_section.html",
                                   _link_pairs)
