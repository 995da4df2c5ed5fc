//! The rule registry: one module per rule, sorted by code.

pub mod dkim001;
pub mod dkim002;
pub mod dkim003;
pub mod dkim004;
pub mod dkim005;
pub mod dns001;
pub mod dns002;
pub mod dns003;
pub mod dns004;
pub mod dns005;
pub mod dns006;
pub mod k8s001;
pub mod k8s002;
pub mod k8s003;
pub mod k8s004;
pub mod k8s005;
pub mod k8s006;
pub mod k8s007;
pub mod k8s008;
pub mod k8s009;
pub mod k8s010;
pub mod k8s011;
pub mod k8s012;
pub mod k8s013;
pub mod mon001;
pub mod mon002;
pub mod mon003;
pub mod mon004;
pub mod ops001;
pub mod ops002;
pub mod ops003;
pub mod ops004;
pub mod ops005;
pub mod ops006;
pub mod ops007;
pub mod ops008;
pub mod que001;
pub mod que002;
pub mod que003;
pub mod que004;
pub mod que005;
pub mod que006;
pub mod que007;
pub mod sec001;
pub mod sec002;
pub mod sec003;
pub mod sec004;
pub mod sec005;
pub mod sec006;
pub mod sec007;
pub mod sec008;
pub mod sec009;
pub mod sec010;
pub mod sec011;
pub mod shp001;
pub mod shp002;
pub mod shp003;
pub mod shp004;
pub mod shp005;
pub mod shp006;
pub mod shp007;
pub mod shp008;
pub mod shp009;
pub mod shp010;
pub mod shp011;
pub mod shp012;
pub mod syn001;
pub mod syn002;
pub mod syn003;
pub mod syn004;
pub mod tls001;
pub mod tls002;
pub mod tls003;
pub mod tls004;
pub mod tls005;
pub mod tsa001;
pub mod tsa002;
pub mod tsa003;
pub mod tsa004;
pub mod tsa005;
pub mod tsa006;

use super::Rule;

/// Every rule, sorted by code.
pub static RULES: &[&Rule] = &[
    &dkim001::RULE,
    &dkim002::RULE,
    &dkim003::RULE,
    &dkim004::RULE,
    &dkim005::RULE,
    &dns001::RULE,
    &dns002::RULE,
    &dns003::RULE,
    &dns004::RULE,
    &dns005::RULE,
    &dns006::RULE,
    &k8s001::RULE,
    &k8s002::RULE,
    &k8s003::RULE,
    &k8s004::RULE,
    &k8s005::RULE,
    &k8s006::RULE,
    &k8s007::RULE,
    &k8s008::RULE,
    &k8s009::RULE,
    &k8s010::RULE,
    &k8s011::RULE,
    &k8s012::RULE,
    &k8s013::RULE,
    &mon001::RULE,
    &mon002::RULE,
    &mon003::RULE,
    &mon004::RULE,
    &ops001::RULE,
    &ops002::RULE,
    &ops003::RULE,
    &ops004::RULE,
    &ops005::RULE,
    &ops006::RULE,
    &ops007::RULE,
    &ops008::RULE,
    &que001::RULE,
    &que002::RULE,
    &que003::RULE,
    &que004::RULE,
    &que005::RULE,
    &que006::RULE,
    &que007::RULE,
    &sec001::RULE,
    &sec002::RULE,
    &sec003::RULE,
    &sec004::RULE,
    &sec005::RULE,
    &sec006::RULE,
    &sec007::RULE,
    &sec008::RULE,
    &sec009::RULE,
    &sec010::RULE,
    &sec011::RULE,
    &shp001::RULE,
    &shp002::RULE,
    &shp003::RULE,
    &shp004::RULE,
    &shp005::RULE,
    &shp006::RULE,
    &shp007::RULE,
    &shp008::RULE,
    &shp009::RULE,
    &shp010::RULE,
    &shp011::RULE,
    &shp012::RULE,
    &syn001::RULE,
    &syn002::RULE,
    &syn003::RULE,
    &syn004::RULE,
    &tls001::RULE,
    &tls002::RULE,
    &tls003::RULE,
    &tls004::RULE,
    &tls005::RULE,
    &tsa001::RULE,
    &tsa002::RULE,
    &tsa003::RULE,
    &tsa004::RULE,
    &tsa005::RULE,
    &tsa006::RULE,
];
