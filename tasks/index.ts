export {};
import "./treasury";
import "./agent";
import "./payBatch";
import "./intent";
import "./guardian";
import "./owners";
import "./monitor";
