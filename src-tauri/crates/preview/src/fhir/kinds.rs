//! One readable line for each clinical resource type: what it is, then details.

use medwallet_api::FhirItem;
use serde_json::Value;

use super::values::{
    concept, concepts, device_name, list, narrative, one_or_many, period, person_name, quantity,
    range, status, text, timing, when, Index,
};
use super::{MAX_DETAIL_CHARS, SEP};
use crate::clip;

/// Shortcut for the resolver and the resource being read.
pub(super) type Ix<'i, 'a> = &'i Index<'a>;

pub(super) fn item(name: Option<String>, unnamed: &str, detail: Vec<String>) -> FhirItem {
    let detail: Vec<String> = detail.into_iter().filter(|d| !d.is_empty()).collect();
    FhirItem {
        text: name.unwrap_or_else(|| unnamed.to_string()),
        detail: (!detail.is_empty()).then(|| clip(&detail.join(SEP), MAX_DETAIL_CHARS)),
    }
}

/// Names given to a resource that has none of its own.
const UNNAMED: [&str; 9] = [
    "Vaccine without a name",
    "Procedure without a name",
    "Report without a name",
    "Visit",
    "Care plan",
    "Goal",
    "Document",
    "Device",
    "Insurance",
];

/// An item that says nothing but its type (it is counted instead).
pub(super) fn is_empty(item: &FhirItem) -> bool {
    item.detail.is_none() && UNNAMED.contains(&item.text.as_str())
}

/// An item without a name of its own gets the resource's narrative, when written by a
/// person, as its first detail.
pub(super) fn with_narrative(mut item: FhirItem, resource: &Value) -> FhirItem {
    let unnamed = item.text.ends_with(" without a name") || UNNAMED.contains(&item.text.as_str());
    if let (true, Some(story)) = (unnamed, narrative(resource)) {
        let detail = match item.detail.take() {
            Some(d) => format!("{story}{SEP}{d}"),
            None => story,
        };
        item.detail = Some(clip(&detail, MAX_DETAIL_CHARS));
    }
    item
}

/// `Jane Doe, born 1984-03-12, female`.
pub(super) fn patient(resource: &Value) -> String {
    let mut parts = vec![person_name(resource).unwrap_or_else(|| "Name not given".to_string())];
    if let Some(born) = text(resource.get("birthDate")) {
        parts.push(format!("born {born}"));
    }
    if let Some(gender) = text(resource.get("gender")) {
        parts.push(gender);
    }
    clip(&parts.join(", "), super::MAX_FIELD_CHARS)
}

pub(super) fn condition(resource: &Value) -> FhirItem {
    let mut detail = Vec::new();
    detail.extend(status(resource.get("clinicalStatus")));
    detail.extend(onset(resource));
    detail.extend(concepts(resource.get("severity")).map(|s| format!("severity: {s}")));
    detail.extend(concepts(resource.get("bodySite")));
    item(
        concept(resource.get("code")),
        "Condition without a name",
        detail,
    )
}

fn onset(resource: &Value) -> Option<String> {
    if let Some(date) = when(resource.get("onsetDateTime")) {
        return Some(format!("since {date}"));
    }
    if let Some(start) = when(resource.get("onsetPeriod").and_then(|p| p.get("start"))) {
        return Some(format!("since {start}"));
    }
    if let Some(age) = quantity(resource.get("onsetAge")) {
        return Some(format!("since age {age}"));
    }
    text(resource.get("onsetString")).map(|s| format!("onset: {s}"))
}

/// The medication of a MedicationStatement, -Request, -Dispense or -Administration (R4
/// `medicationCodeableConcept` / `medicationReference`, R5 `medication`).
fn medication_name<'a>(ix: Ix<'_, 'a>, resource: &'a Value) -> Option<String> {
    concept(resource.get("medicationCodeableConcept"))
        .or_else(|| ix.name_of(resource, resource.get("medicationReference")))
        .or_else(|| {
            let m = resource.get("medication")?;
            concept(m.get("concept")).or_else(|| ix.name_of(resource, m.get("reference")))
        })
}

fn dosage_text(d: &Value) -> Option<String> {
    text(d.get("text")).or_else(|| {
        let dose = list(d.get("doseAndRate"))
            .iter()
            .find_map(|r| quantity(r.get("doseQuantity")))
            .or_else(|| quantity(d.get("dose")));
        let route = concept(d.get("route"));
        let parts: Vec<String> = dose.into_iter().chain(route).collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    })
}

pub(super) fn medication<'a>(ix: Ix<'_, 'a>, resource: &'a Value) -> FhirItem {
    let kind = resource
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut detail = Vec::new();
    // Request and dispense: instructions; statement and administration: what was taken.
    let dosage = list(resource.get("dosage"))
        .first()
        .or_else(|| list(resource.get("dosageInstruction")).first())
        .or_else(|| resource.get("dosage").filter(|d| d.is_object()))
        .and_then(dosage_text);
    detail.extend(dosage);
    match kind {
        "MedicationDispense" => {
            detail.extend(quantity(resource.get("quantity")).map(|q| format!("{q} dispensed")));
            detail.extend(quantity(resource.get("daysSupply")).map(|d| format!("for {d}")));
            detail.extend(when(resource.get("whenHandedOver")).map(|w| format!("handed over {w}")));
        }
        "MedicationAdministration" => {
            // R5 spells it `occurence[x]`.
            detail.extend(timing(resource, "effective").or_else(|| timing(resource, "occurence")));
        }
        "MedicationRequest" => {
            detail.extend(when(resource.get("authoredOn")).map(|w| format!("prescribed {w}")));
            detail.extend(
                ix.name_of(resource, resource.get("requester"))
                    .map(|r| format!("by {r}")),
            );
        }
        _ => detail.extend(timing(resource, "effective")),
    }
    detail.extend(text(resource.get("status")));
    let label = match kind {
        "MedicationDispense" => "dispensed",
        "MedicationAdministration" => "given",
        "MedicationRequest" => "prescription",
        _ => "",
    };
    if !label.is_empty() {
        detail.insert(0, label.to_string());
    }
    item(
        medication_name(ix, resource),
        "Medication without a name",
        detail,
    )
}

/// A Medication resource on its own: code, form, ingredients.
pub(super) fn medication_product(resource: &Value) -> FhirItem {
    let mut detail = Vec::new();
    detail.extend(concept(resource.get("form")).or_else(|| concept(resource.get("doseForm"))));
    let ingredients: Vec<String> = list(resource.get("ingredient"))
        .iter()
        .take(8)
        .filter_map(|i| {
            concept(i.get("itemCodeableConcept"))
                .or_else(|| concept(i.get("item")))
                .or_else(|| text(i.get("itemReference").and_then(|r| r.get("display"))))
        })
        .collect();
    if !ingredients.is_empty() {
        detail.push(format!("contains {}", ingredients.join(", ")));
    }
    detail.extend(
        concept(resource.get("manufacturer"))
            .or_else(|| text(resource.get("manufacturer").and_then(|m| m.get("display")))),
    );
    item(
        concept(resource.get("code")),
        "Medication without a name",
        detail,
    )
}

pub(super) fn allergy(resource: &Value) -> FhirItem {
    let mut detail = Vec::new();
    detail.extend(status(resource.get("clinicalStatus")));
    if let Some(criticality) = text(resource.get("criticality")) {
        detail.push(format!("{criticality} criticality"));
    }
    let reactions: Vec<String> = list(resource.get("reaction"))
        .iter()
        .flat_map(|r| list(r.get("manifestation")))
        .filter_map(|m| concept(Some(m)))
        .take(10)
        .collect();
    if !reactions.is_empty() {
        detail.push(format!("reaction: {}", reactions.join(", ")));
    }
    item(
        concept(resource.get("code")),
        "Allergy without a name",
        detail,
    )
}

/// The `value[x]` of an observation or a component, as text.
pub(super) fn observation_value(v: &Value) -> Option<String> {
    if let Some(q) = quantity(v.get("valueQuantity")) {
        return Some(q);
    }
    if let Some(s) = text(v.get("valueString")) {
        return Some(s);
    }
    if let Some(c) = concept(v.get("valueCodeableConcept")) {
        return Some(c);
    }
    if let Some(b) = v.get("valueBoolean").and_then(Value::as_bool) {
        return Some(if b { "yes" } else { "no" }.to_string());
    }
    if let Some(n) = v.get("valueInteger").filter(|n| n.is_number()) {
        return Some(n.to_string());
    }
    if let Some(r) = range(v.get("valueRange")) {
        return Some(r);
    }
    if let Some(ratio) = v.get("valueRatio") {
        let n = quantity(ratio.get("numerator"))?;
        let d = quantity(ratio.get("denominator"))?;
        return Some(format!("{n} / {d}"));
    }
    if let Some(p) = period(v.get("valuePeriod")) {
        return Some(p);
    }
    when(v.get("valueDateTime")).or_else(|| text(v.get("valueTime")))
}

pub(super) fn observation<'a>(ix: Ix<'_, 'a>, resource: &'a Value) -> FhirItem {
    let mut detail = Vec::new();
    detail.extend(observation_value(resource));
    if let Some(reason) = concept(resource.get("dataAbsentReason")) {
        detail.push(format!("no value: {reason}"));
    }
    let components: Vec<String> = list(resource.get("component"))
        .iter()
        .take(10)
        .filter_map(|c| {
            let value = observation_value(c)?;
            Some(match concept(c.get("code")) {
                Some(name) => format!("{name} {value}"),
                None => value,
            })
        })
        .collect();
    if !components.is_empty() {
        detail.push(components.join(", "));
    }
    let members: Vec<String> = list(resource.get("hasMember"))
        .iter()
        .take(10)
        .filter_map(|m| ix.name_of(resource, Some(m)))
        .collect();
    if !members.is_empty() {
        detail.push(members.join(", "));
    }
    if let Some(interpretation) = concepts(resource.get("interpretation")) {
        detail.push(interpretation);
    }
    if let Some(normal) = list(resource.get("referenceRange"))
        .first()
        .and_then(|r| range(Some(r)))
    {
        detail.push(format!("normal {normal}"));
    }
    detail.extend(timing(resource, "effective").or_else(|| when(resource.get("issued"))));
    item(
        concept(resource.get("code")),
        "Observation without a name",
        detail,
    )
}

pub(super) fn immunization(resource: &Value) -> FhirItem {
    let mut detail = Vec::new();
    detail.extend(timing(resource, "occurrence"));
    match text(resource.get("status")).as_deref() {
        Some("completed") | None => {}
        Some("not-done") => detail.push(match concept(resource.get("statusReason")) {
            Some(why) => format!("not given: {why}"),
            None => "not given".to_string(),
        }),
        Some(other) => detail.push(other.to_string()),
    }
    let doses: Vec<String> = list(resource.get("protocolApplied"))
        .iter()
        .filter_map(|p| {
            let n = p
                .get("doseNumberPositiveInt")
                .or_else(|| p.get("doseNumber"))?;
            let n = n
                .as_u64()
                .map(|n| n.to_string())
                .or_else(|| text(Some(n)))?;
            Some(format!("dose {n}"))
        })
        .collect();
    detail.extend(doses);
    detail.extend(quantity(resource.get("doseQuantity")));
    detail.extend(concept(resource.get("route")));
    detail.extend(text(resource.get("lotNumber")).map(|l| format!("lot {l}")));
    item(
        concept(resource.get("vaccineCode")),
        "Vaccine without a name",
        detail,
    )
}

pub(super) fn procedure<'a>(ix: Ix<'_, 'a>, resource: &'a Value) -> FhirItem {
    let mut detail = Vec::new();
    // R4 `performed[x]`, R5 `occurrence[x]`.
    detail.extend(timing(resource, "performed").or_else(|| timing(resource, "occurrence")));
    detail.extend(text(resource.get("status")));
    detail.extend(concepts(resource.get("bodySite")));
    detail.extend(reasons(ix, resource).map(|r| format!("for {r}")));
    detail.extend(concept(resource.get("outcome")).map(|o| format!("outcome: {o}")));
    item(
        concept(resource.get("code")),
        "Procedure without a name",
        detail,
    )
}

/// R4 `reasonCode` and `reasonReference`, R5 `reason` (CodeableReferences).
fn reasons<'a>(ix: Ix<'_, 'a>, resource: &'a Value) -> Option<String> {
    let mut out: Vec<String> = Vec::new();
    out.extend(
        list(resource.get("reasonCode"))
            .iter()
            .filter_map(|c| concept(Some(c))),
    );
    out.extend(
        list(resource.get("reasonReference"))
            .iter()
            .filter_map(|r| ix.name_of(resource, Some(r))),
    );
    for r in list(resource.get("reason")) {
        out.extend(concept(r.get("concept")).or_else(|| ix.name_of(resource, r.get("reference"))));
    }
    // R5 Encounter: `reason[].value[]`.
    for r in list(resource.get("reason")) {
        for v in list(r.get("value")) {
            out.extend(
                concept(v.get("concept")).or_else(|| ix.name_of(resource, v.get("reference"))),
            );
        }
    }
    out.truncate(6);
    (!out.is_empty()).then(|| out.join(", "))
}

pub(super) fn diagnostic_report<'a>(ix: Ix<'_, 'a>, resource: &'a Value) -> FhirItem {
    let mut detail = Vec::new();
    detail.extend(concepts(resource.get("category")));
    detail.extend(timing(resource, "effective").or_else(|| when(resource.get("issued"))));
    detail.extend(text(resource.get("status")));
    let results: Vec<String> = list(resource.get("result"))
        .iter()
        .take(20)
        .filter_map(|r| ix.name_of(resource, Some(r)))
        .collect();
    if !results.is_empty() {
        detail.push(format!("results: {}", results.join("; ")));
    }
    detail.extend(text(resource.get("conclusion")));
    detail.extend(concepts(resource.get("conclusionCode")));
    let performer = list(resource.get("performer"))
        .iter()
        .find_map(|p| ix.name_of(resource, Some(p)));
    detail.extend(performer.map(|p| format!("by {p}")));
    item(
        concept(resource.get("code")),
        "Report without a name",
        detail,
    )
}

pub(super) fn encounter<'a>(ix: Ix<'_, 'a>, resource: &'a Value) -> FhirItem {
    let mut detail = Vec::new();
    // R4: `period`; R5: `actualPeriod`.
    detail.extend(period(resource.get("period")).or_else(|| period(resource.get("actualPeriod"))));
    detail.extend(reasons(ix, resource).map(|r| format!("for {r}")));
    let place = ix
        .name_of(resource, resource.get("serviceProvider"))
        .or_else(|| {
            list(resource.get("location"))
                .iter()
                .find_map(|l| ix.name_of(resource, l.get("location")))
        });
    detail.extend(place.map(|p| format!("at {p}")));
    let discharge = resource
        .get("hospitalization")
        .or_else(|| resource.get("admission"))
        .and_then(|h| concept(h.get("dischargeDisposition")));
    detail.extend(discharge.map(|d| format!("discharged: {d}")));
    detail.extend(text(resource.get("status")));
    // R4 `class` is a Coding; R5 a list of CodeableConcepts.
    let name = concepts(resource.get("type"))
        .or_else(|| concepts(resource.get("class")))
        .or_else(|| concept(resource.get("serviceType")));
    item(name, "Visit", detail)
}

pub(super) fn care_plan<'a>(ix: Ix<'_, 'a>, resource: &'a Value) -> FhirItem {
    let mut detail = Vec::new();
    detail.extend(text(resource.get("description")));
    detail.extend(period(resource.get("period")));
    detail.extend(text(resource.get("status")));
    let addresses: Vec<String> = list(resource.get("addresses"))
        .iter()
        .filter_map(|a| {
            concept(a.get("concept"))
                .or_else(|| ix.name_of(resource, a.get("reference").or(Some(a))))
        })
        .take(5)
        .collect();
    if !addresses.is_empty() {
        detail.push(format!("for {}", addresses.join(", ")));
    }
    let activities: Vec<String> = list(resource.get("activity"))
        .iter()
        .take(10)
        .filter_map(|a| {
            let d = a.get("detail");
            d.and_then(|d| concept(d.get("code")).or_else(|| text(d.get("description"))))
                .or_else(|| ix.name_of(resource, a.get("reference")))
                .or_else(|| ix.name_of(resource, a.get("plannedActivityReference")))
                .or_else(|| {
                    list(a.get("performedActivity")).iter().find_map(|p| {
                        concept(p.get("concept"))
                            .or_else(|| ix.name_of(resource, p.get("reference")))
                    })
                })
                .or_else(|| {
                    list(a.get("progress"))
                        .iter()
                        .find_map(|p| text(p.get("text")))
                })
        })
        .collect();
    if !activities.is_empty() {
        detail.push(format!("activities: {}", activities.join(", ")));
    }
    let goals: Vec<String> = list(resource.get("goal"))
        .iter()
        .take(5)
        .filter_map(|g| ix.name_of(resource, Some(g)))
        .collect();
    if !goals.is_empty() {
        detail.push(format!("goals: {}", goals.join(", ")));
    }
    let name = text(resource.get("title")).or_else(|| concepts(resource.get("category")));
    item(name, "Care plan", detail)
}

pub(super) fn goal(resource: &Value) -> FhirItem {
    let mut detail = Vec::new();
    let targets: Vec<String> = list(resource.get("target"))
        .iter()
        .take(5)
        .filter_map(|t| {
            let value = quantity(t.get("detailQuantity"))
                .or_else(|| range(t.get("detailRange")))
                .or_else(|| concept(t.get("detailCodeableConcept")))
                .or_else(|| text(t.get("detailString")));
            let measure = concept(t.get("measure"));
            let due = when(t.get("dueDate")).map(|d| format!("by {d}"));
            let parts: Vec<String> = measure.into_iter().chain(value).chain(due).collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        })
        .collect();
    if !targets.is_empty() {
        detail.push(format!("target: {}", targets.join(", ")));
    }
    detail.extend(when(resource.get("startDate")).map(|d| format!("from {d}")));
    detail.extend(text(resource.get("lifecycleStatus")));
    detail.extend(concept(resource.get("achievementStatus")));
    item(concept(resource.get("description")), "Goal", detail)
}

pub(super) fn document_reference<'a>(ix: Ix<'_, 'a>, resource: &'a Value) -> FhirItem {
    let mut detail = Vec::new();
    detail.extend(concepts(resource.get("category")));
    detail.extend(
        when(resource.get("date"))
            .or_else(|| period(resource.get("context").and_then(|c| c.get("period")))),
    );
    let author = list(resource.get("author"))
        .iter()
        .find_map(|a| ix.name_of(resource, Some(a)));
    detail.extend(author.map(|a| format!("by {a}")));
    for content in list(resource.get("content")).iter().take(4) {
        if let Some(a) = content.get("attachment") {
            detail.extend(attachment(a));
        }
    }
    detail.extend(text(resource.get("docStatus")).or_else(|| text(resource.get("status"))));
    let name = text(resource.get("description"))
        .or_else(|| concept(resource.get("type")))
        .or_else(|| {
            list(resource.get("content"))
                .iter()
                .find_map(|c| text(c.get("attachment")?.get("title")))
        });
    item(name, "Document", detail)
}

/// `attached: report.pdf (application/pdf, 12 KiB)`, or the start of its text.
fn attachment(a: &Value) -> Option<String> {
    let mut what = Vec::new();
    what.extend(text(a.get("contentType")));
    if let Some(size) = a
        .get("size")
        .and_then(|s| s.as_u64().or_else(|| s.as_str()?.parse().ok()))
    {
        what.push(crate::human_size(
            usize::try_from(size).unwrap_or(usize::MAX),
        ));
    }
    let title = text(a.get("title")).or_else(|| text(a.get("url")));
    let described = match (title, what.is_empty()) {
        (Some(t), true) => t,
        (Some(t), false) => format!("{t} ({})", what.join(", ")),
        (None, false) => what.join(", "),
        (None, true) => return None,
    };
    Some(format!("attached: {described}"))
}

pub(super) fn device(resource: &Value) -> FhirItem {
    let mut detail = Vec::new();
    if device_name(resource) != concepts(resource.get("type")) {
        detail.extend(concepts(resource.get("type")));
    }
    let made: Vec<String> = text(resource.get("manufacturer"))
        .into_iter()
        .chain(text(resource.get("modelNumber")).map(|m| format!("model {m}")))
        .collect();
    if !made.is_empty() {
        detail.push(made.join(" "));
    }
    let udi = list(resource.get("udiCarrier"))
        .iter()
        .find_map(|u| text(u.get("deviceIdentifier")).or_else(|| text(u.get("carrierHRF"))));
    detail.extend(udi.map(|u| format!("UDI {u}")));
    detail.extend(text(resource.get("status")));
    item(device_name(resource), "Device", detail)
}

pub(super) fn coverage<'a>(ix: Ix<'_, 'a>, resource: &'a Value) -> FhirItem {
    let mut detail = Vec::new();
    // R4 `payor`, R5 `insurer` and `paymentBy`.
    let payer = list(resource.get("payor"))
        .iter()
        .find_map(|p| ix.name_of(resource, Some(p)))
        .or_else(|| ix.name_of(resource, resource.get("insurer")))
        .or_else(|| {
            list(resource.get("paymentBy"))
                .iter()
                .find_map(|p| ix.name_of(resource, p.get("party")))
        });
    let member = text(resource.get("subscriberId")).or_else(|| {
        list(resource.get("identifier"))
            .iter()
            .find_map(|i| text(i.get("value")))
    });
    detail.extend(member.map(|m| format!("member {m}")));
    let classes: Vec<String> = list(resource.get("class"))
        .iter()
        .take(4)
        .filter_map(|c| {
            let value = text(c.get("name"))
                .or_else(|| text(c.get("value")))
                .or_else(|| text(c.get("value").and_then(|v| v.get("value"))))?;
            Some(match concept(c.get("type")) {
                Some(kind) => format!("{kind}: {value}"),
                None => value,
            })
        })
        .collect();
    detail.extend(classes);
    detail.extend(period(resource.get("period")));
    detail.extend(text(resource.get("status")));
    let name = match (payer, concept(resource.get("type"))) {
        (Some(p), Some(t)) => Some(format!("{p} — {t}")),
        (p, t) => p.or(t),
    };
    item(name, "Insurance", detail)
}

/// Any other resource: its name or code and its narrative; `None` when it has neither.
pub(super) fn generic(resource: &Value) -> Option<FhirItem> {
    let kind = resource
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or("Resource");
    let name = super::values::label(resource);
    let story = narrative(resource);
    if name.is_none() && story.is_none() {
        return None;
    }
    let text = match name {
        Some(n) => format!("{kind}: {n}"),
        None => kind.to_string(),
    };
    let mut detail = Vec::new();
    detail.extend(text_status(resource));
    detail.extend(story);
    Some(item(Some(text), kind, detail))
}

fn text_status(resource: &Value) -> Option<String> {
    text(resource.get("status")).or_else(|| status(resource.get("status")))
}

/// A Composition's sections (and subsections), each with its entries or its narrative.
pub(super) fn composition_sections<'a>(ix: Ix<'_, 'a>, resource: &'a Value) -> Vec<FhirItem> {
    let mut out = Vec::new();
    fn walk<'a>(
        ix: Ix<'_, 'a>,
        within: &'a Value,
        sections: &'a [Value],
        depth: usize,
        out: &mut Vec<FhirItem>,
    ) {
        for section in sections.iter().take(50) {
            let entries: Vec<String> = list(section.get("entry"))
                .iter()
                .take(20)
                .filter_map(|e| ix.name_of(within, Some(e)))
                .collect();
            let mut detail = Vec::new();
            if entries.is_empty() {
                detail.extend(narrative(section));
                detail.extend(concept(section.get("emptyReason")).map(|r| format!("empty: {r}")));
            } else {
                detail.push(entries.join("; "));
            }
            let name = text(section.get("title")).or_else(|| concept(section.get("code")));
            out.push(item(name, "Section", detail));
            if depth < 3 {
                walk(ix, within, list(section.get("section")), depth + 1, out);
            }
        }
    }
    walk(ix, resource, list(resource.get("section")), 0, &mut out);
    out
}

/// The heading of a Composition: `Discharge summary · 2024-05-14 · final`.
pub(super) fn composition_title<'a>(ix: Ix<'_, 'a>, resource: &'a Value) -> String {
    let mut parts = Vec::new();
    parts.extend(text(resource.get("title")).or_else(|| concept(resource.get("type"))));
    parts.extend(when(resource.get("date")));
    let author = one_or_many(resource.get("author"))
        .iter()
        .find_map(|a| ix.name_of(resource, Some(a)));
    parts.extend(author.map(|a| format!("by {a}")));
    if parts.is_empty() {
        parts.push("Document".to_string());
    }
    clip(&parts.join(SEP), super::MAX_FIELD_CHARS)
}
