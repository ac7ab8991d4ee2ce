// Model: the compiled model's accessors, shared by every model kind.
#include <hifit/errors.hpp>
#include <hifit/likelihood/model.hpp>

#include "enum_names.hpp"
#include "likelihood/main_terms.hpp"
#include "likelihood/model_data.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace hifit {

const char* to_string(Constraint constraint) {
    static constexpr const char* names[] = {"unconstrained", "constrained_by_normal",
                                            "constrained_by_poisson"};
    return enum_name(constraint, names);
}

const char* to_string(ModelKind kind) {
    static constexpr const char* names[] = {"histfactory", "combine"};
    return enum_name(kind, names);
}

namespace {

std::string number_text(double v) {
    std::ostringstream out;
    out << v;
    return out.str();
}

} // namespace

Model Model::from_compiled(std::shared_ptr<const ModelData> data) {
    return Model(std::move(data));
}

std::size_t Model::npars() const {
    return data_->par_names.size();
}
std::size_t Model::nmain() const {
    return data_->nmain;
}
std::size_t Model::naux() const {
    return data_->auxdata.size();
}
const std::vector<std::string>& Model::par_names() const {
    return data_->par_names;
}
const std::vector<ParamSetInfo>& Model::paramsets() const {
    return data_->paramsets;
}
std::optional<std::size_t> Model::poi_index() const {
    return data_->poi_index;
}
const std::string& Model::poi_name() const {
    return data_->poi_name;
}
const std::vector<double>& Model::suggested_init() const {
    return data_->init;
}
const std::vector<std::pair<double, double>>& Model::suggested_bounds() const {
    return data_->bounds;
}
const std::vector<bool>& Model::suggested_fixed() const {
    return data_->fixed;
}
const std::vector<double>& Model::auxdata() const {
    return data_->auxdata;
}
const std::vector<std::string>& Model::channels() const {
    return data_->channels;
}
const std::vector<std::size_t>& Model::channel_nbins() const {
    return data_->channel_nbins;
}
const std::vector<std::string>& Model::samples() const {
    return data_->samples;
}
const std::string& Model::measurement_name() const {
    return data_->measurement_name;
}

ModelKind Model::kind() const {
    return data_->main->kind();
}

Model Model::with_poi(std::string_view name) const {
    const ParamSetInfo& set = paramset(name);
    if (set.size != 1) {
        throw InvalidArgument("the POI must be a scalar parameter, \"" +
                              std::string(name) + "\" has " + std::to_string(set.size) +
                              " entries");
    }
    auto copy = std::make_shared<ModelData>(*data_);
    copy->poi_index = set.offset;
    copy->poi_name = set.name;
    return Model(std::move(copy));
}

const ParamSetInfo& Model::paramset(std::string_view name) const {
    for (const auto& p : data_->paramsets) {
        if (p.name == name) return p;
    }
    throw InvalidArgument("the model has no parameter named \"" + std::string(name) +
                          "\"");
}

std::vector<double> Model::data(const std::vector<Observation>& observations,
                                bool include_auxdata) const {
    std::vector<double> out;
    out.reserve(nmain() + naux());
    for (std::size_t ci = 0; ci < data_->channels.size(); ++ci) {
        const auto& name = data_->channels[ci];
        auto it = std::find_if(observations.begin(), observations.end(),
                               [&](const Observation& o) { return o.name == name; });
        if (it == observations.end()) {
            throw InvalidModel("no observation for channel \"" + name + "\"");
        }
        if (it->data.size() != data_->channel_nbins[ci]) {
            throw InvalidModel("observation for channel \"" + name + "\" has " +
                               std::to_string(it->data.size()) +
                               " bins, the channel has " +
                               std::to_string(data_->channel_nbins[ci]));
        }
        for (std::size_t b = 0; b < it->data.size(); ++b) {
            if (!(it->data[b] >= 0.0) || !std::isfinite(it->data[b])) {
                throw InvalidModel("observation for channel \"" + name + "\", bin " +
                                   std::to_string(b) + ": " + number_text(it->data[b]) +
                                   ", expected a finite count >= 0");
            }
        }
        out.insert(out.end(), it->data.begin(), it->data.end());
    }
    if (include_auxdata) {
        out.insert(out.end(), data_->auxdata.begin(), data_->auxdata.end());
    }
    return out;
}

} // namespace hifit
