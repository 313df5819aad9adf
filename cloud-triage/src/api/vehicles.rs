//! `GET /api/vehicles/{vin}`: what one car sent, and what it reported lost.

use axum::{extract::State, Json};

use super::{
    error::{ApiError, ErrorBody},
    extract::ApiPath,
    ApiState,
};
use crate::views::VehicleView;

/// One vehicle: its feedback and the outbox records it reported lost.
#[utoipa::path(
    get,
    path = "/api/vehicles/{vin}",
    tag = "feedback",
    params(("vin" = String, Path, description = "The vehicle identification number", pattern = "^[A-HJ-NPR-Z0-9]{17}$")),
    responses(
        (status = 200, description = "The vehicle's feedback and losses", body = VehicleView),
        (status = 400, description = "Not a VIN", body = ErrorBody),
        (status = 404, description = "Nothing from this vehicle", body = ErrorBody),
    )
)]
pub async fn get_vehicle(
    State(state): State<ApiState>,
    ApiPath(vin): ApiPath<String>,
) -> Result<Json<VehicleView>, ApiError> {
    qloop_protocol::validate_vin(&vin).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    state
        .store
        .vehicle_view(&vin)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("vehicle {vin}")))
}
